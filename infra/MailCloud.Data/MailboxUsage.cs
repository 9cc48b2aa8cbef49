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
/// Reads the per-user <c>usage</c> row of the mailbox table (partition = the user). The indexer keeps that row in the
/// same entity-group transaction that adds or removes messages, so it is exact; no row yet means an empty mailbox.
/// </summary>
public sealed class TableMailboxUsage(TableClient mailboxes) : IMailboxUsage
{
    public TableMailboxUsage(StorageAccount account) : this(account.Tables.GetTableClient(StorageNames.MailboxTable))
    {
    }

    public const string UsageRow = "usage";

    public static string Partition(MailAddress user) => TableKeys.Escape($"{user.LocalKey}@{user.Domain}");

    public async Task<long> GetUsedBytesAsync(MailAddress user, CancellationToken cancellationToken = default)
    {
        var row = await mailboxes.GetRowAsync(Partition(user), UsageRow, ["UsedBytes"], cancellationToken).ConfigureAwait(false);
        return row?.ReadInt64("UsedBytes") ?? 0;
    }
}
