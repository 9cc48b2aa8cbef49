using Azure;
using Azure.Data.Tables;
using MailCloud.Core;

namespace MailCloud.Data;

/// <summary>Folder management and flag updates (IMAP CREATE/DELETE/RENAME/SUBSCRIBE, STORE).</summary>
public sealed partial class MailboxStore
{
    /// <summary>IMAP's hierarchy separator.</summary>
    public const char Separator = '/';

    /// <summary>Creates a folder and any missing parents; false when it exists already.</summary>
    public async Task<bool> CreateFolderAsync(MailAddress user, string name, CancellationToken cancellationToken = default)
    {
        var partition = TableMailboxUsage.Partition(user);
        var folders = await ListFoldersAsync(user, cancellationToken).ConfigureAwait(false);
        var names = folders.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        if (names.Contains(name))
            return false;
        // UIDVALIDITY: never reuse a value a folder of this user has now (a deleted and recreated name gets a new one).
        var parts = name.Split(Separator);
        var uidValidity = await Writer.ReserveUidValiditiesAsync(partition, parts.Length, cancellationToken, floor: folders.Count == 0 ? 0 : folders.Max(f => f.UidValidity) + 1).ConfigureAwait(false);
        for (int i = 1; i <= parts.Length; i++)
        {
            var path = string.Join(Separator, parts[..i]);
            if (path.Length == 0 || names.Contains(path))
                continue;
            try
            {
                await mailboxes.AddRowAsync(Writer.NewFolder(partition, path, uidValidity++, uidNext: 1, modSeq: 0, exists: 0, unseen: 0, subscribed: false), cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                if (path == name)
                    return false;
            }
        }
        return true;
    }

    /// <summary>Deletes a folder with its messages; false when it does not exist.</summary>
    public async Task<bool> DeleteFolderAsync(MailAddress user, string name, CancellationToken cancellationToken = default)
    {
        var partition = TableMailboxUsage.Partition(user);
        for (int attempt = 0; WriteConflicts.CanRetry(attempt); attempt++)
        {
            var snapshot = await OpenAsync(user, name, cancellationToken).ConfigureAwait(false);
            if (snapshot.Folder is null)
                return false;
            if (snapshot.Messages.Count > 0)
                await ExpungeAsync(user, name, snapshot.Messages, cancellationToken).ConfigureAwait(false);
            var row = await mailboxes.GetRowAsync(partition, MailboxKeys.FolderRow(name), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (row is null)
                return true;
            if ((row.ReadInt32("Exists") ?? 0) > 0)
                continue; // mail arrived meanwhile
            try
            {
                await mailboxes.DeleteRowAsync(partition, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                await WriteConflicts.PauseAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }
        throw new InvalidOperationException($"folder {name} keeps changing; not deleted");
    }

    /// <summary>Subscribes or unsubscribes a name; it need not exist (and a subscription outlives a deleted folder).</summary>
    public async Task<bool> SetSubscribedAsync(MailAddress user, string name, bool subscribed, CancellationToken cancellationToken = default)
    {
        var partition = TableMailboxUsage.Partition(user);
        if (subscribed)
        {
            await mailboxes.UpsertRowAsync(new TableEntity(partition, MailboxKeys.SubscriptionRow(name)) { ["Name"] = name }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return true;
        }
        await mailboxes.DeleteRowAsync(partition, MailboxKeys.SubscriptionRow(name), cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            // A folder created before subscriptions had rows of their own carries the flag; clear it too.
            await mailboxes.UpdateRowAsync(new TableEntity(partition, MailboxKeys.FolderRow(name)) { ["Subscribed"] = false }, ETag.All, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
        return true;
    }

    /// <summary>
    /// Renames a folder and its children (RFC 3501 6.3.5). The message rows move in entity-group transactions that
    /// also move the counters, so both folders are consistent after every step; blob references are added before
    /// and removed after. Renaming INBOX moves its messages and leaves it empty.
    /// </summary>
    public async Task RenameFolderAsync(MailAddress user, string from, string to, CancellationToken cancellationToken = default)
    {
        var partition = TableMailboxUsage.Partition(user);
        var folders = await ListFoldersAsync(user, cancellationToken).ConfigureAwait(false);
        var moving = folders.Where(f => f.Name == from || from != "INBOX" && f.Name.StartsWith(from + Separator, StringComparison.Ordinal)).ToList();
        if (!moving.Any(f => f.Name == from))
            throw new FolderNotFoundException(from);
        var uidValidity = await Writer.ReserveUidValiditiesAsync(partition, moving.Count, cancellationToken, floor: folders.Max(f => f.UidValidity) + 1).ConfigureAwait(false);
        // Missing parents of the new name.
        var parent = to.Contains(Separator, StringComparison.Ordinal) ? to[..to.LastIndexOf(Separator)] : null;
        if (parent is not null && !folders.Any(f => f.Name == parent))
            await CreateFolderAsync(user, parent, cancellationToken).ConfigureAwait(false);
        // Subscriptions follow the folders they name (as Dovecot and Cyrus do).
        var subscribed = await ListSubscriptionsAsync(user, folders, cancellationToken).ConfigureAwait(false);
        foreach (var source in moving.Where(f => subscribed.Contains(f.Name)))
        {
            await SetSubscribedAsync(user, to + source.Name[from.Length..], true, cancellationToken).ConfigureAwait(false);
            if (source.Name != "INBOX")
                await SetSubscribedAsync(user, source.Name, false, cancellationToken).ConfigureAwait(false);
        }
        foreach (var source in moving)
        {
            var target = to + source.Name[from.Length..];
            await mailboxes.AddRowAsync(Writer.NewFolder(partition, target, uidValidity++, uidNext: 1, modSeq: 0, exists: 0, unseen: 0, subscribed: source.Subscribed), cancellationToken).ConfigureAwait(false);
            await MoveAllAsync(user, partition, source.Name, target, cancellationToken).ConfigureAwait(false);
            if (source.Name != "INBOX")
            {
                var row = await mailboxes.GetRowAsync(partition, MailboxKeys.FolderRow(source.Name), cancellationToken: cancellationToken).ConfigureAwait(false);
                if (row is not null)
                    await mailboxes.DeleteRowAsync(partition, row.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task MoveAllAsync(MailAddress user, string partition, string from, string to, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Full rows, 24 at a time: 4 actions per message (add, add de-dup, delete, delete de-dup) + both folder rows.
            var batch = new List<TableEntity>();
            var filter = TableFilter.And(TableFilter.PartitionKey(partition), TableFilter.RowKeyPrefix(MailboxKeys.MessagePrefix(from)));
            batch.AddRange(await mailboxes.QueryFirstPageAsync(filter, null, 24, cancellationToken).ConfigureAwait(false));
            if (batch.Count == 0)
                return;
            foreach (var m in batch)
            {
                await blobRefs.UpsertRowAsync(new TableEntity(TableKeys.Escape(m.ReadString("Blob") ?? string.Empty), MailboxKeys.BlobRefRow(partition, to, m.ReadString("MessageId") ?? string.Empty))
                {
                    ["User"] = user.Address,
                    ["Folder"] = to,
                }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            }
            var src = (await mailboxes.GetEntityAsync<TableEntity>(partition, MailboxKeys.FolderRow(from), cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            var dst = (await mailboxes.GetEntityAsync<TableEntity>(partition, MailboxKeys.FolderRow(to), cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            var runs = FlagRuns.Parse(src.ReadString(FlagRuns.Column));
            int unseen = batch.Count(m => !MessageFlags.Has(Composed(runs, m).Flags, MessageFlags.Seen));
            long bytes = batch.Sum(m => m.ReadInt64("Size") ?? 0);
            var modSeq = (dst.ReadInt64("HighestModSeq") ?? 0) + 1;
            var srcModSeq = (src.ReadInt64("HighestModSeq") ?? 0) + 1;
            var uidNext = dst.ReadInt64("UidNext") ?? 1;
            var actions = new List<TableTransactionAction>
            {
                new(TableTransactionActionType.UpdateMerge, new TableEntity(partition, src.RowKey)
                {
                    ["Exists"] = Math.Max(0, (src.ReadInt32("Exists") ?? 0) - batch.Count),
                    ["Unseen"] = Math.Max(0, (src.ReadInt32("Unseen") ?? 0) - unseen),
                    ["Bytes"] = Math.Max(0, (src.ReadInt64("Bytes") ?? 0) - bytes),
                    ["HighestModSeq"] = srcModSeq,
                    [FolderChangeLog.Column] = FolderChangeLog.Append(src.ReadString(FolderChangeLog.Column), srcModSeq, [], batch.Select(m => m.ReadInt64("Uid") ?? 0)),
                }, src.ETag),
            };
            var dstLog = FolderChangeLog.Append(dst.ReadString(FolderChangeLog.Column), modSeq, Enumerable.Range(0, batch.Count).Select(i => uidNext + i), []);
            foreach (var m in batch)
            {
                var messageId = m.ReadString("MessageId") ?? string.Empty;
                var copy = new TableEntity(partition, MailboxKeys.MessageRow(to, uidNext));
                foreach (var (k, v) in m.Columns())
                    copy[k] = v;
                copy["Uid"] = uidNext;
                copy["Flags"] = Composed(runs, m).Flags; // the source folder's runs stay behind
                copy["ModSeq"] = modSeq;
                actions.Add(new(TableTransactionActionType.Add, copy));
                actions.Add(new(TableTransactionActionType.Add, new TableEntity(partition, MailboxKeys.DedupRow(to, messageId)) { ["Uid"] = uidNext, ["UidValidity"] = dst.ReadInt64("UidValidity") ?? 0 }));
                actions.Add(new(TableTransactionActionType.Delete, new TableEntity(partition, m.RowKey), m.ETag));
                actions.Add(new(TableTransactionActionType.Delete, new TableEntity(partition, MailboxKeys.DedupRow(from, messageId)), ETag.All));
                uidNext++;
            }
            actions.Add(new(TableTransactionActionType.UpdateMerge, new TableEntity(partition, dst.RowKey)
            {
                ["Exists"] = (dst.ReadInt32("Exists") ?? 0) + batch.Count,
                ["Unseen"] = (dst.ReadInt32("Unseen") ?? 0) + unseen,
                ["Bytes"] = (dst.ReadInt64("Bytes") ?? 0) + bytes,
                ["HighestModSeq"] = modSeq,
                ["UidNext"] = uidNext,
                [FolderChangeLog.Column] = dstLog,
            }, dst.ETag));
            try
            {
                await mailboxes.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
            }
            catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412)
            {
                continue; // something changed meanwhile: read again
            }
            foreach (var m in batch)
                await blobRefs.DeleteRowAsync(TableKeys.Escape(m.ReadString("Blob") ?? string.Empty), MailboxKeys.BlobRefRow(partition, from, m.ReadString("MessageId") ?? string.Empty), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }
}
