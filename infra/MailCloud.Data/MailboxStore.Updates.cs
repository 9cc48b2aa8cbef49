using Azure;
using Azure.Data.Tables;
using MailCloud.Core;

namespace MailCloud.Data;

/// <summary>
/// Flag changes and expunges (IMAP STORE, EXPUNGE, MOVE; POP3 deletes). Their cost depends on the messages named,
/// never on the size of the mailbox: the rows are read by point reads or by RowKey ranges over runs of nearby UIDs,
/// and written in entity-group transactions of up to 100 rows, each carrying the folder row's new counters. The
/// transactions of one command follow each other on the folder row's ETag as the previous one returned it, so a
/// command on 10,000 messages reads the folder row once.
/// </summary>
public sealed partial class MailboxStore
{
    /// <summary>Rows per flag transaction: the folder row and 99 messages.</summary>
    private const int FlagChunk = 99;

    /// <summary>Messages per expunge transaction: 2 deletes each (row and de-duplication row) plus the folder row.</summary>
    private const int ExpungeChunk = 49;

    private static readonly string[] FlagStateColumns = ["RowKey", "HighestModSeq", "Exists", "Unseen", FolderChangeLog.Column, FlagRuns.Column];

    /// <summary>
    /// Changes the flags of messages (IMAP STORE) by <paramref name="edit"/>. Messages whose MODSEQ is above
    /// <paramref name="unchangedSince"/> are left alone and reported (RFC 7162 CONDSTORE). Long stretches of
    /// consecutive messages become one <see cref="FlagRun"/> on the folder row (one write); the rest are written row
    /// by row. Each write takes one new MODSEQ for the folder.
    /// </summary>
    public Task<FlagUpdateResult> UpdateFlagsAsync(MailAddress user, string folder, IReadOnlyList<long> uids, FlagEdit edit, long? unchangedSince = null, CancellationToken cancellationToken = default) =>
        UpdateFlagsAsync(user, folder, uids, edit, unchangedSince, known: null, cancellationToken);

    /// <summary>
    /// As above, for a caller holding the whole folder (<see cref="FolderKnowledge"/>): when the folder row says the
    /// folder is still at that MODSEQ with that many messages, a long STORE takes the flags from it and skips reading
    /// the rows, so <c>STORE 1:*</c> is two requests (the folder row, then the flag run written on it under its
    /// ETag) however large the folder. Rows written one by one are still read first (their writes need ETags).
    /// </summary>
    public Task<FlagUpdateResult> UpdateFlagsAsync(MailAddress user, string folder, IReadOnlyList<long> uids, FlagEdit edit, FolderKnowledge known, CancellationToken cancellationToken = default) =>
        UpdateFlagsAsync(user, folder, uids, edit, unchangedSince: null, known, cancellationToken);

    private async Task<FlagUpdateResult> UpdateFlagsAsync(MailAddress user, string folder, IReadOnlyList<long> uids, FlagEdit edit, long? unchangedSince, FolderKnowledge? known, CancellationToken cancellationToken)
    {
        try
        {
            return await UpdateFlagsCoreAsync(user, folder, uids, edit, unchangedSince, known, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Writer.ForgetFolderRow(user, folder); // its new ETag would fail the writer's next guess: read the row instead
        }
    }

    private async Task<FlagUpdateResult> UpdateFlagsCoreAsync(MailAddress user, string folder, IReadOnlyList<long> uids, FlagEdit edit, long? unchangedSince, FolderKnowledge? known, CancellationToken cancellationToken)
    {
        var partition = TableMailboxUsage.Partition(user);
        var folderKey = MailboxKeys.FolderRow(folder);
        var sorted = uids.Distinct().Order().ToList();
        bool runsWanted = unchangedSince is null && sorted.Count >= FlagRuns.MinimumLength;
        var stateRead = mailboxes.GetRowAsync(partition, folderKey, FlagStateColumns, cancellationToken);
        List<TableEntity>[]? groups = null;
        TableEntity state;
        if (runsWanted && known is not null)
        {
            state = await stateRead.ConfigureAwait(false) ?? throw new FolderNotFoundException(folder);
            if (state.ReadInt64("HighestModSeq") == known.HighestModSeq && state.ReadInt32("Exists") == known.Messages.Count)
                groups = KnownGroups(partition, folder, sorted, known);
            else
                known = null;
        }
        else
        {
            known = null;
            groups = await ReadGroupsAsync(partition, folder, sorted, FlagColumns, cancellationToken).ConfigureAwait(false);
            state = await stateRead.ConfigureAwait(false) ?? throw new FolderNotFoundException(folder);
        }
        groups ??= await ReadGroupsAsync(partition, folder, sorted, FlagColumns, cancellationToken).ConfigureAwait(false);
        var changed = new List<FlagChange>();
        var modified = new List<long>();
        var steps = new List<(long, long)>();
        IReadOnlyList<long> rest = sorted;
        if (runsWanted)
            (state, rest, groups) = await StoreRunsAsync(partition, folder, sorted, groups, edit, state, changed, steps, cancellationToken).ConfigureAwait(false);
        Dictionary<long, TableEntity> rows;
        if (known is not null)
        {
            // The known rows carry no ETags: read the rest again, but only UIDs the folder holds (the copy is current,
            // so a UID it lacks was expunged — a session's view may still name it).
            if (rest.Count > 0) // usually none: 1:* is one run, and the set below would be the whole folder's
            {
                var present = known.Messages.Select(m => m.Uid).ToHashSet();
                rest = rest.Where(present.Contains).ToList();
            }
            rows = rest.Count == 0 ? [] : await ReadMessageRowsAsync(partition, folder, rest, FlagColumns, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var restSet = rest.ToHashSet();
            rows = groups.SelectMany(g => g).Where(e => restSet.Contains(e.ReadInt64("Uid") ?? 0)).ToDictionary(e => e.ReadInt64("Uid") ?? 0);
        }
        foreach (var slice in rest.Chunk(FlagChunk))
        {
            for (int attempt = 0; ; attempt++)
            {
                var modSeq = (state.ReadInt64("HighestModSeq") ?? 0) + 1;
                var runs = FlagRuns.Parse(state.ReadString(FlagRuns.Column));
                var actions = new List<TableTransactionAction>();
                var sliceChanges = new List<FlagChange>();
                var sliceModified = new List<long>();
                int unseenDelta = 0;
                foreach (var uid in slice)
                {
                    if (!rows.TryGetValue(uid, out var row))
                        continue; // expunged meanwhile
                    var (before, rowModSeq) = Composed(runs, row);
                    if (unchangedSince is { } since && rowModSeq > since)
                    {
                        sliceModified.Add(uid);
                        continue;
                    }
                    var after = edit.Apply(before);
                    if (after == before)
                        continue;
                    unseenDelta += SeenDelta(before, after);
                    actions.Add(new(TableTransactionActionType.UpdateMerge, new TableEntity(partition, row.RowKey) { ["Flags"] = after, ["ModSeq"] = modSeq }, row.ETag));
                    sliceChanges.Add(new FlagChange(uid, after, modSeq));
                }
                if (actions.Count > 0)
                {
                    var after = new TableEntity(partition, folderKey)
                    {
                        ["HighestModSeq"] = modSeq,
                        ["Unseen"] = Math.Max(0, (state.ReadInt32("Unseen") ?? 0) + unseenDelta),
                        [FolderChangeLog.Column] = FolderChangeLog.Append(state.ReadString(FolderChangeLog.Column), modSeq, sliceChanges.Select(c => c.Uid), []),
                    };
                    actions.Insert(0, new(TableTransactionActionType.UpdateMerge, after, state.ETag));
                    try
                    {
                        var response = await mailboxes.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                        state = await FollowAsync(state, response.Value[0], after, cancellationToken).ConfigureAwait(false) ?? throw new FolderNotFoundException(folder);
                    }
                    catch (TableTransactionFailedException e) when (e.Status is 404 or 412 && WriteConflicts.CanRetry(attempt))
                    {
                        // Another session or a delivery changed the folder (the usual case: re-read just its row) or
                        // these messages (re-read them too).
                        await WriteConflicts.PauseAsync(attempt, cancellationToken).ConfigureAwait(false);
                        var again = mailboxes.GetRowAsync(partition, folderKey, FlagStateColumns, cancellationToken);
                        if (!FolderRowFailed(e, actions) || attempt % 2 == 1) // every other time all of it, whatever the store says failed
                        {
                            foreach (var uid in slice)
                                rows.Remove(uid);
                            foreach (var (uid, row) in await ReadMessageRowsAsync(partition, folder, slice, FlagColumns, cancellationToken).ConfigureAwait(false))
                                rows[uid] = row;
                        }
                        state = await again.ConfigureAwait(false) ?? throw new FolderNotFoundException(folder);
                        continue;
                    }
                    steps.Add((modSeq - 1, modSeq));
                }
                changed.AddRange(sliceChanges);
                modified.AddRange(sliceModified);
                break;
            }
        }
        return new FlagUpdateResult(changed, modified, steps);
    }

    /// <summary>+1 when a message loses \Seen, -1 when it gains it: the change to the folder's UNSEEN.</summary>
    private static int SeenDelta(string before, string after) =>
        (MessageFlags.Has(before, MessageFlags.Seen) ? 1 : 0) - (MessageFlags.Has(after, MessageFlags.Seen) ? 1 : 0);

    /// <summary>Removes messages from a folder: counters, quota usage and de-duplication rows change with them. Returns the UIDs removed (rows already gone are skipped).</summary>
    public async Task<IReadOnlyList<long>> ExpungeAsync(MailAddress user, string folder, IReadOnlyList<MailboxMessage> messages, CancellationToken cancellationToken = default)
    {
        try
        {
            return await ExpungeCoreAsync(user, folder, messages, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Writer.ForgetFolderRow(user, folder);
        }
    }

    private async Task<IReadOnlyList<long>> ExpungeCoreAsync(MailAddress user, string folder, IReadOnlyList<MailboxMessage> messages, CancellationToken cancellationToken)
    {
        var partition = TableMailboxUsage.Partition(user);
        var folderKey = MailboxKeys.FolderRow(folder);
        var removed = new List<long>();
        var sorted = messages.Select(m => m.Uid).Distinct().Order().ToList();
        var folderRead = mailboxes.GetRowAsync(partition, folderKey, cancellationToken: cancellationToken);
        var present = await ReadMessageRowsAsync(partition, folder, sorted, ExpungeColumns, cancellationToken).ConfigureAwait(false);
        var folderRow = await folderRead.ConfigureAwait(false) ?? throw new FolderNotFoundException(folder);
        foreach (var slice in sorted.Chunk(ExpungeChunk))
        {
            for (int attempt = 0; ; attempt++)
            {
                var doomed = slice.Where(present.ContainsKey).Select(u => present[u]).ToList();
                if (doomed.Count == 0)
                    break;
                var runs = FlagRuns.Parse(folderRow.ReadString(FlagRuns.Column));
                int unseen = doomed.Count(m => !MessageFlags.Has(Composed(runs, m).Flags, MessageFlags.Seen));
                long bytes = doomed.Sum(m => m.ReadInt64("Size") ?? 0);
                var modSeq = (folderRow.ReadInt64("HighestModSeq") ?? 0) + 1;
                var folderAfter = new TableEntity(partition, folderKey)
                {
                    ["Exists"] = Math.Max(0, (folderRow.ReadInt32("Exists") ?? 0) - doomed.Count),
                    ["Unseen"] = Math.Max(0, (folderRow.ReadInt32("Unseen") ?? 0) - unseen),
                    ["Bytes"] = Math.Max(0, (folderRow.ReadInt64("Bytes") ?? 0) - bytes),
                    ["HighestModSeq"] = modSeq,
                    [FolderChangeLog.Column] = FolderChangeLog.Append(folderRow.ReadString(FolderChangeLog.Column), modSeq, [], doomed.Select(m => m.ReadInt64("Uid") ?? 0)),
                };
                var actions = new List<TableTransactionAction> { new(TableTransactionActionType.UpdateMerge, folderAfter, folderRow.ETag) };
                foreach (var m in doomed)
                {
                    actions.Add(new(TableTransactionActionType.Delete, new TableEntity(partition, m.RowKey), m.ETag));
                    actions.Add(new(TableTransactionActionType.Delete, new TableEntity(partition, MailboxKeys.DedupRow(folder, m.ReadString("MessageId") ?? string.Empty)), ETag.All));
                }
                try
                {
                    var response = await mailboxes.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                    folderRow = await FollowAsync(folderRow, response.Value[0], folderAfter, cancellationToken).ConfigureAwait(false) ?? throw new FolderNotFoundException(folder);
                }
                catch (TableTransactionFailedException e) when (e.Status is 404 or 412 && WriteConflicts.CanRetry(attempt))
                {
                    // A delivery or another session changed the rows meanwhile: read them again.
                    await WriteConflicts.PauseAsync(attempt, cancellationToken).ConfigureAwait(false);
                    var again = mailboxes.GetRowAsync(partition, folderKey, cancellationToken: cancellationToken);
                    if (!FolderRowFailed(e, actions) || attempt % 2 == 1)
                    {
                        foreach (var uid in slice)
                            present.Remove(uid);
                        foreach (var (uid, row) in await ReadMessageRowsAsync(partition, folder, slice, ExpungeColumns, cancellationToken).ConfigureAwait(false))
                            present[uid] = row;
                    }
                    folderRow = await again.ConfigureAwait(false) ?? throw new FolderNotFoundException(folder);
                    continue;
                }
                await Parallel.ForEachAsync(doomed, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (m, ct) =>
                    await blobRefs.DeleteRowAsync(TableKeys.Escape(m.ReadString("Blob") ?? string.Empty),
                        MailboxKeys.BlobRefRow(partition, folder, m.ReadString("MessageId") ?? string.Empty), cancellationToken: ct).ConfigureAwait(false)).ConfigureAwait(false);
                removed.AddRange(doomed.Select(m => m.ReadInt64("Uid") ?? 0));
                break;
            }
        }
        return removed;
    }

    /// <summary>The transaction failed on the folder row's ETag (someone else changed the folder), not on a message row.</summary>
    private static bool FolderRowFailed(TableTransactionFailedException e, List<TableTransactionAction> actions) =>
        e.Status == 412 && e.FailedTransactionActionIndex == 0 && actions.Count > 0;

    private static readonly string[] FlagColumns = ["RowKey", "Uid", "Flags", "ModSeq"];
    private static readonly string[] ExpungeColumns = ["RowKey", "Uid", "Flags", "ModSeq", "Size", "Blob", "MessageId"];

    /// <summary>
    /// A counter row as the transaction just left it: its new ETag from the transaction's response, or (when a
    /// store does not return one) a point read. Null when the row is gone.
    /// </summary>
    private async Task<TableEntity?> FollowAsync(TableEntity before, Response response, TableEntity written, CancellationToken cancellationToken)
    {
        if (response.Headers.ETag is not { } etag)
            return await mailboxes.GetRowAsync(before.PartitionKey, before.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        return TableRows.Followed(before, written, etag);
    }

    /// <summary>Largest gap between two named UIDs that one range read still covers (the rows in between are read too).</summary>
    private const int RunGap = 32;

    /// <summary>
    /// The current rows of <paramref name="sortedUids"/>, by UID (see <see cref="ReadGroupsAsync"/>; rows read in
    /// between that were not named are left out).
    /// </summary>
    private async Task<Dictionary<long, TableEntity>> ReadMessageRowsAsync(string partition, string folder, IReadOnlyList<long> sortedUids, string[] columns, CancellationToken cancellationToken)
    {
        var wanted = sortedUids.ToHashSet();
        var groups = await ReadGroupsAsync(partition, folder, sortedUids, columns, cancellationToken).ConfigureAwait(false);
        return groups.SelectMany(g => g).Where(e => wanted.Contains(e.ReadInt64("Uid") ?? 0)).ToDictionary(e => e.ReadInt64("Uid") ?? 0);
    }

    /// <summary>
    /// The rows around <paramref name="sortedUids"/>: UIDs no more than <see cref="RunGap"/> apart are read as one
    /// RowKey range (a scan of just those rows: one request per 1,000 UIDs, in parallel), a UID on its own by a
    /// point read; at most 8 requests in flight. One list per range, in UID order, holding every row the range has (named
    /// or not), so a caller sees which named messages have no other message between them. Never more than a bounded
    /// multiple of the rows named is read.
    /// </summary>
    private async Task<List<TableEntity>[]> ReadGroupsAsync(string partition, string folder, IReadOnlyList<long> sortedUids, string[] columns, CancellationToken cancellationToken)
    {
        var ranges = GroupRanges(sortedUids);
        // A long range is read as several of at most a page's worth of UIDs, in parallel (a range is otherwise read
        // page after page, each waiting for the previous one's continuation token); the same requests, less waiting.
        var parts = new List<(int Group, long First, long Last)>();
        for (int i = 0; i < ranges.Count; i++)
        {
            var (first, last) = ranges[i];
            for (var lo = first; lo <= last; lo += PageUids)
                parts.Add((i, lo, Math.Min(last, lo + PageUids - 1)));
        }
        var read = new List<TableEntity>[parts.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, parts.Count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (j, ct) =>
        {
            var (group, first, last) = parts[j];
            var rows = new List<TableEntity>();
            if (ranges[group].First == ranges[group].Last)
            {
                if (await mailboxes.GetRowAsync(partition, MailboxKeys.MessageRow(folder, first), columns, ct).ConfigureAwait(false) is { } row)
                    rows.Add(row);
            }
            else
            {
                await foreach (var e in mailboxes.QueryRowsAsync(UidRange(partition, folder, first, last), columns, cancellationToken: ct).ConfigureAwait(false))
                    rows.Add(e);
                rows.Sort((a, b) => (a.ReadInt64("Uid") ?? 0).CompareTo(b.ReadInt64("Uid") ?? 0));
            }
            read[j] = rows;
        }).ConfigureAwait(false);
        var groups = Enumerable.Range(0, ranges.Count).Select(_ => new List<TableEntity>()).ToArray();
        for (int j = 0; j < parts.Count; j++)
            groups[parts[j].Group].AddRange(read[j]);
        return groups;
    }

    /// <summary>Named UIDs no more than <see cref="RunGap"/> apart, as the ranges <see cref="ReadGroupsAsync"/> reads.</summary>
    private static List<(long First, long Last)> GroupRanges(IReadOnlyList<long> sortedUids)
    {
        var ranges = new List<(long First, long Last)>();
        foreach (var uid in sortedUids)
        {
            if (ranges.Count > 0 && uid - ranges[^1].Last <= RunGap)
                ranges[^1] = (ranges[^1].First, uid);
            else
                ranges.Add((uid, uid));
        }
        return ranges;
    }

    /// <summary>
    /// The groups <see cref="ReadGroupsAsync"/> would read, from a caller's copy of the whole folder: rows with just
    /// UID, flags and MODSEQ as readers composed them (composing the folder's runs onto them again changes nothing)
    /// and no ETag, so they serve a flag run's decision, never a row's own conditional write.
    /// </summary>
    private static List<TableEntity>[] KnownGroups(string partition, string folder, IReadOnlyList<long> sortedUids, FolderKnowledge known)
    {
        var messages = known.Messages.OrderBy(m => m.Uid).ToList();
        var groups = new List<List<TableEntity>>();
        int at = 0;
        foreach (var (first, last) in GroupRanges(sortedUids))
        {
            var group = new List<TableEntity>();
            while (at < messages.Count && messages[at].Uid < first)
                at++;
            for (; at < messages.Count && messages[at].Uid <= last; at++)
            {
                var m = messages[at];
                group.Add(new TableEntity(partition, MailboxKeys.MessageRow(folder, m.Uid)) { ["Uid"] = m.Uid, ["Flags"] = m.Flags, ["ModSeq"] = m.ModSeq });
            }
            groups.Add(group);
        }
        return [.. groups];
    }

    /// <summary>UIDs per range read: a page of Table storage's answer holds at most 1,000 rows.</summary>
    private const int PageUids = 1000;

    /// <summary>A filter for the rows of UIDs [<paramref name="first"/>, <paramref name="last"/>] of a folder (a RowKey range: only those rows are read).</summary>
    private static string UidRange(string partition, string folder, long first, long last) => TableFilter.And(TableFilter.PartitionKey(partition),
        $"RowKey ge {TableFilter.Quote(MailboxKeys.MessageRow(folder, first))}", $"RowKey le {TableFilter.Quote(MailboxKeys.MessageRow(folder, last))}");
}
