using Azure;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>Row keys of the mailbox table (partition = the user, see <see cref="TableMailboxUsage.Partition"/>).</summary>
public static class MailboxKeys
{
    public static string FolderRow(string folder) => "folder:" + TableKeys.Escape(folder);
    public static string MessagePrefix(string folder) => $"msg:{TableKeys.Escape(folder)}:";
    public static string MessageRow(string folder, long uid) => $"{MessagePrefix(folder)}{uid:D10}";
    public static string DedupRow(string folder, string messageId) => $"id:{TableKeys.Escape(folder)}:{messageId}";
    public static string BlobRefRow(string partition, string folder, string messageId) => $"{partition}|{TableKeys.Escape(folder)}|{messageId}";
    public const string LockPrefix = "lock:";
}

/// <summary>One message of a folder as the access protocols need it (no summary fields).</summary>
public sealed record MailboxMessage(long Uid, long Size, string Blob, string MessageId, string Flags);

/// <summary>A folder as a session opens it: its UIDVALIDITY and its messages in UID order.</summary>
public sealed record FolderSnapshot(long UidValidity, IReadOnlyList<MailboxMessage> Messages);

/// <summary>
/// Reading and changing mailboxes for the access protocols (POP3 now, IMAP next): list a folder, expunge messages
/// (entries, de-duplication rows, counters and quota usage in entity-group transactions; then the blob references),
/// and a per-user lock with expiry (POP3's one-maildrop-session rule).
/// </summary>
public sealed class MailboxStore(TableClient mailboxes, TableClient blobRefs, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

/// <summary>
    /// A folder's UIDVALIDITY and messages in one partition query (the folder row sorts just before its message rows),
    /// instead of a point read plus a query.
    /// </summary>
    public async Task<FolderSnapshot> OpenAsync(MailAddress user, string folder, CancellationToken cancellationToken = default)
    {
        var folderRow = MailboxKeys.FolderRow(folder);
        var filter = TableFilter.And(TableFilter.PartitionKey(TableMailboxUsage.Partition(user)),
            $"RowKey eq {TableFilter.Quote(folderRow)} or ({TableFilter.RowKeyPrefix(MailboxKeys.MessagePrefix(folder))})");
        long uidValidity = 0;
        var list = new List<MailboxMessage>();
        await foreach (var e in mailboxes.QueryAsync(filter, ["RowKey", "UidValidity", "Uid", "Size", "Blob", "MessageId", "Flags"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (e.RowKey == folderRow)
                uidValidity = e.GetInt64("UidValidity") ?? 0;
            else
                list.Add(new MailboxMessage(e.GetInt64("Uid") ?? 0, e.GetInt64("Size") ?? 0, e.GetString("Blob") ?? string.Empty, e.GetString("MessageId") ?? string.Empty, e.GetString("Flags") ?? string.Empty));
        }
        return new FolderSnapshot(uidValidity, list.OrderBy(m => m.Uid).ToList());
    }

        /// <summary>Removes messages from a folder: counters, quota usage and de-duplication rows change with them.</summary>
    public async Task ExpungeAsync(MailAddress user, string folder, IReadOnlyList<MailboxMessage> messages, CancellationToken cancellationToken = default)
    {
        var partition = TableMailboxUsage.Partition(user);
        // 2 deletes per message + folder row + usage row within the 100 actions of one transaction.
        foreach (var chunk in messages.Chunk(45))
        {
            for (int attempt = 0; ; attempt++)
            {
                // Both counter rows in one request.
                TableEntity? folderRow = null, usage = null;
                var rows = TableFilter.And(TableFilter.PartitionKey(partition),
                    $"RowKey eq {TableFilter.Quote(MailboxKeys.FolderRow(folder))} or RowKey eq {TableFilter.Quote(TableMailboxUsage.UsageRow)}");
                await foreach (var e in mailboxes.QueryAsync(rows, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    if (e.RowKey == TableMailboxUsage.UsageRow)
                        usage = e;
                    else
                        folderRow = e;
                }
                if (folderRow is null)
                    throw new InvalidOperationException($"folder {folder} of {user} does not exist");
                var actions = new List<TableTransactionAction>
                {
                    new(TableTransactionActionType.UpdateMerge, new TableEntity(partition, folderRow.RowKey)
                    {
                        ["Exists"] = Math.Max(0, (folderRow.GetInt32("Exists") ?? 0) - chunk.Length),
                        ["HighestModSeq"] = (folderRow.GetInt64("HighestModSeq") ?? 0) + 1,
                    }, folderRow.ETag),
                };
                if (usage is not null)
                {
                    actions.Add(new(TableTransactionActionType.UpdateMerge, new TableEntity(partition, TableMailboxUsage.UsageRow)
                    {
                        ["UsedBytes"] = Math.Max(0, (usage.GetInt64("UsedBytes") ?? 0) - chunk.Sum(m => m.Size)),
                        ["Messages"] = Math.Max(0, (usage.GetInt32("Messages") ?? 0) - chunk.Length),
                    }, usage.ETag));
                }
                foreach (var m in chunk)
                {
                    actions.Add(new(TableTransactionActionType.Delete, new TableEntity(partition, MailboxKeys.MessageRow(folder, m.Uid)), ETag.All));
                    actions.Add(new(TableTransactionActionType.Delete, new TableEntity(partition, MailboxKeys.DedupRow(folder, m.MessageId)), ETag.All));
                }
                try
                {
                    await mailboxes.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (TableTransactionFailedException e) when (e.Status == 412 && attempt < 20)
                {
                    // A delivery changed the counters meanwhile: read them again.
                }
            }
            foreach (var m in chunk)
                await blobRefs.DeleteEntityAsync(TableKeys.Escape(m.Blob), MailboxKeys.BlobRefRow(partition, folder, m.MessageId), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes a named per-user lock for <paramref name="ttl"/>; null when another holder's lock has not expired.</summary>
    public async Task<MailboxLock?> TryLockAsync(MailAddress user, string name, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var partition = TableMailboxUsage.Partition(user);
        var row = MailboxKeys.LockPrefix + name;
        var owner = Guid.NewGuid().ToString("N");
        var entity = new TableEntity(partition, row) { ["Owner"] = owner, ["Expires"] = _time.GetUtcNow() + ttl };
        try
        {
            await mailboxes.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
            return new MailboxLock(mailboxes, partition, row, entity.ETag);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var current = await mailboxes.GetEntityIfExistsAsync(partition, row, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (current is not null && current.GetDateTimeOffset("Expires") > _time.GetUtcNow())
                return null;
            try
            {
                // Expired (a session that died): take it over, but only if nobody else just did.
                var etag = await mailboxes.UpdateEntityAsync(entity, current?.ETag ?? ETag.All, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return new MailboxLock(mailboxes, partition, row, etag);
            }
            catch (RequestFailedException e2) when (e2.Status is 404 or 412)
            {
                return null;
            }
        }
    }
}

/// <summary>A held mailbox lock; disposing releases it (only if it is still ours).</summary>
public sealed class MailboxLock(TableClient table, string partition, string row, ETag etag) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        try
        {
            await table.DeleteEntityAsync(partition, row, etag).ConfigureAwait(false);
        }
        catch (RequestFailedException)
        {
            // Expired and taken over, or storage unavailable: the expiry frees it either way.
        }
    }
}
