using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>How many bytes a user's mailbox holds now, for quota checks at RCPT time.</summary>
public interface IMailboxUsage
{
    Task<long> GetUsedBytesAsync(MailAddress user, CancellationToken cancellationToken = default);
}

/// <summary>
/// A user's usage is the sum of the counters on their folder rows (partition = the user; one RowKey range over the
/// <c>folder:</c> rows, whose number does not grow with the mail). Every transaction that adds or removes messages
/// changes its folder row, so the sum is exact, and no per-user row is a second point of contention for writers to
/// different folders. (Mailboxes indexed before this kept a <c>usage</c> row; it is no longer read or written.)
/// </summary>
public sealed class TableMailboxUsage(TableClient mailboxes) : IMailboxUsage
{
    public TableMailboxUsage(StorageAccount account) : this(account.Tables.GetTableClient(StorageNames.MailboxTable))
    {
    }

    public static string Partition(MailAddress user) => TableKeys.Escape($"{user.LocalKey}@{user.Domain}");

    public async Task<long> GetUsedBytesAsync(MailAddress user, CancellationToken cancellationToken = default) =>
        (await SumAsync(mailboxes, user, cancellationToken).ConfigureAwait(false)).UsedBytes;

    public static async Task<(long UsedBytes, int Messages)> SumAsync(TableClient mailboxes, MailAddress user, CancellationToken cancellationToken)
    {
        long bytes = 0;
        int messages = 0;
        var filter = TableFilter.And(TableFilter.PartitionKey(Partition(user)), TableFilter.RowKeyPrefix(MailboxKeys.FolderPrefix));
        await foreach (var e in mailboxes.QueryRowsAsync(filter, ["Bytes", "Exists"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            bytes += e.ReadInt64("Bytes") ?? 0;
            messages += e.ReadInt32("Exists") ?? 0;
        }
        return (bytes, messages);
    }
}
