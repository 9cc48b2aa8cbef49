using Azure;
using Azure.Data.Tables;

namespace MailCloud.Data;

/// <summary>
/// Flag changes on long stretches of messages as <see cref="FlagRun"/>s on the folder row, and folding the oldest
/// run into its rows when a folder has too many.
/// </summary>
public sealed partial class MailboxStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string), Task> _folds = new();

    /// <summary>Runs a folder may hold before a STORE folds the oldest itself (<see cref="FlagRuns.MaxRuns"/>; smaller in tests).</summary>
    public int MaxFlagRuns { get; init; } = FlagRuns.MaxRuns;

    /// <summary>Runs above which the oldest are folded in the background (<see cref="FlagRuns.FoldAbove"/>).</summary>
    public int FoldFlagRunsAbove { get; init; } = FlagRuns.FoldAbove;

    /// <summary>Completes when the background folds started so far have finished (tests, orderly shutdown).</summary>
    public Task FoldsIdleAsync() => Task.WhenAll(_folds.Values);

    /// <summary>A message row's flags and MODSEQ with the folder's runs applied.</summary>
    internal static (string Flags, long ModSeq) Composed(IReadOnlyList<FlagRun> runs, TableEntity row) =>
        FlagRuns.Compose(runs, row.ReadInt64("Uid") ?? 0, row.ReadString("Flags") ?? string.Empty, row.ReadInt64("ModSeq") ?? 0);

    /// <summary>
    /// Writes the stretches of <paramref name="sorted"/> with no other message between them and at least
    /// <see cref="FlagRuns.MinimumLength"/> messages as runs: one conditional update of the folder row (counters,
    /// change log, runs) for all of them. The rows were read with every row in between (<paramref name="groups"/>), so
    /// a stretch is exact; a message added later gets a higher UID, outside it. Returns the UIDs left for row writes.
    /// </summary>
    private async Task<(TableEntity State, IReadOnlyList<long> Others, List<TableEntity>[] Groups)> StoreRunsAsync(string partition, string folder, IReadOnlyList<long> sorted,
        List<TableEntity>[] groups, FlagEdit edit, TableEntity state, List<FlagChange> changed, List<(long, long)> steps, CancellationToken cancellationToken)
    {
        var wanted = sorted.ToHashSet();
        var folderKey = MailboxKeys.FolderRow(folder);
        for (int attempt = 0; ; attempt++)
        {
            var spans = Spans(groups, wanted, Math.Max(1, MaxFlagRuns / 2));
            if (spans.Count == 0)
                return (state, sorted, groups);
            var runs = FlagRuns.Parse(state.ReadString(FlagRuns.Column));
            if (runs.Count + spans.Count > MaxFlagRuns)
            {
                foreach (var oldest in runs.Take(runs.Count + spans.Count - MaxFlagRuns))
                    await FoldAsync(partition, folder, oldest, cancellationToken).ConfigureAwait(false);
                // The rows held were read before the fold wrote into them: read them again with the state.
                var again = mailboxes.GetRowAsync(partition, folderKey, FlagStateColumns, cancellationToken);
                groups = await ReadGroupsAsync(partition, folder, sorted, FlagColumns, cancellationToken).ConfigureAwait(false);
                state = await again.ConfigureAwait(false) ?? throw new FolderNotFoundException(folder);
                continue;
            }
            var modSeq = (state.ReadInt64("HighestModSeq") ?? 0) + 1;
            var changes = new List<FlagChange>();
            var added = new List<FlagRun>();
            int unseenDelta = 0;
            foreach (var span in spans)
            {
                int before = changes.Count;
                foreach (var row in span)
                {
                    var (flags, _) = Composed(runs, row);
                    var after = edit.Apply(flags);
                    if (after == flags)
                        continue;
                    unseenDelta += SeenDelta(flags, after);
                    changes.Add(new FlagChange(row.ReadInt64("Uid") ?? 0, after, modSeq));
                }
                if (changes.Count > before) // a stretch that changes nothing needs no run
                    added.Add(new FlagRun(modSeq, span[0].ReadInt64("Uid") ?? 0, span[^1].ReadInt64("Uid") ?? 0, edit));
            }
            var covered = spans.SelectMany(s => s).Select(r => r.ReadInt64("Uid") ?? 0).ToHashSet();
            var rest = sorted.Where(u => !covered.Contains(u)).ToList();
            if (added.Count == 0)
                return (state, rest, groups);
            var written = new TableEntity(partition, folderKey)
            {
                ["HighestModSeq"] = modSeq,
                ["Unseen"] = Math.Max(0, (state.ReadInt32("Unseen") ?? 0) + unseenDelta),
                [FolderChangeLog.Column] = FolderChangeLog.Append(state.ReadString(FolderChangeLog.Column), modSeq, changes.Select(c => c.Uid), []),
                [FlagRuns.Column] = FlagRuns.Format([.. runs, .. added]),
            };
            try
            {
                var etag = await mailboxes.UpdateRowAsync(written, state.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                state = TableRows.Followed(state, written, etag);
            }
            catch (RequestFailedException e) when (e.Status is 404 or 412 && WriteConflicts.CanRetry(attempt))
            {
                // The folder changed (a delivery, another session): the named rows it changed are read again.
                await WriteConflicts.PauseAsync(attempt, cancellationToken).ConfigureAwait(false);
                var fresh = await mailboxes.GetRowAsync(partition, folderKey, FlagStateColumns, cancellationToken).ConfigureAwait(false) ?? throw new FolderNotFoundException(folder);
                groups = await RefreshGroupsAsync(partition, folder, sorted, groups, state, fresh, cancellationToken).ConfigureAwait(false);
                state = fresh;
                continue;
            }
            changed.AddRange(changes);
            steps.Add((modSeq - 1, modSeq));
            if (runs.Count + added.Count > FoldFlagRunsAbove)
                FoldInBackground(partition, folder);
            return (state, rest, groups);
        }
    }

    /// <summary>
    /// <paramref name="groups"/> brought from the folder row <paramref name="before"/> to <paramref name="after"/>:
    /// from the change log, the named rows changed in between are read again and expunged ones dropped (deliveries
    /// add UIDs above every group, so they change nothing here). Read again whole when the log does not reach back
    /// or a run was folded meanwhile (the rows held were written before the fold).
    /// </summary>
    private async Task<List<TableEntity>[]> RefreshGroupsAsync(string partition, string folder, IReadOnlyList<long> sorted, List<TableEntity>[] groups,
        TableEntity before, TableEntity after, CancellationToken cancellationToken)
    {
        var folded = FlagRuns.Parse(before.ReadString(FlagRuns.Column)).Select(r => r.ModSeq).Except(FlagRuns.Parse(after.ReadString(FlagRuns.Column)).Select(r => r.ModSeq)).Any();
        if (folded || FolderChangeLog.Read(after.ReadString(FolderChangeLog.Column), before.ReadInt64("HighestModSeq") ?? 0, after.ReadInt64("HighestModSeq") ?? 0) is not var (changed, expunged))
            return await ReadGroupsAsync(partition, folder, sorted, FlagColumns, cancellationToken).ConfigureAwait(false);
        var named = sorted.ToHashSet();
        var reread = changed.Where(named.Contains).Order().ToList();
        var rows = reread.Count == 0 ? [] : await ReadMessageRowsAsync(partition, folder, reread, FlagColumns, cancellationToken).ConfigureAwait(false);
        var gone = expunged.Union(reread.Where(u => !rows.ContainsKey(u))).ToHashSet();
        return groups.Select(g => g.Where(r => !gone.Contains(r.ReadInt64("Uid") ?? 0))
            .Select(r => rows.TryGetValue(r.ReadInt64("Uid") ?? 0, out var now) ? now : r).ToList()).ToArray();
    }

    /// <summary>
    /// Folds the oldest runs of a folder beyond <see cref="FoldFlagRunsAbove"/>, after the STORE that added one has
    /// answered; one fold per folder at a time. A fold that fails leaves the runs as they were (every reader still
    /// composes them), and the next STORE over the mark starts another.
    /// </summary>
    private void FoldInBackground(string partition, string folder)
    {
        var key = (partition, folder);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_folds.TryAdd(key, gate.Task))
            return;
        _ = Task.Run(async () =>
        {
            try
            {
                var state = await mailboxes.GetRowAsync(partition, MailboxKeys.FolderRow(folder), ["RowKey", FlagRuns.Column]).ConfigureAwait(false);
                var runs = FlagRuns.Parse(state?.ReadString(FlagRuns.Column));
                foreach (var oldest in runs.Take(Math.Max(0, runs.Count - FoldFlagRunsAbove)))
                    await FoldAsync(partition, folder, oldest, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RequestFailedException or TableTransactionFailedException or FolderNotFoundException or FormatException or IOException or OperationCanceledException)
            {
                // Nothing is lost: the runs stay until a later fold.
            }
            finally
            {
                _folds.TryRemove(key, out _);
                gate.SetResult();
            }
        });
    }

    /// <summary>Maximal stretches of named rows with no unnamed row between them, long enough for a run; the longest <paramref name="most"/> of them.</summary>
    private static List<List<TableEntity>> Spans(List<TableEntity>[] groups, HashSet<long> wanted, int most)
    {
        var spans = new List<List<TableEntity>>();
        foreach (var group in groups)
        {
            var current = new List<TableEntity>();
            foreach (var row in group)
            {
                if (wanted.Contains(row.ReadInt64("Uid") ?? 0))
                {
                    current.Add(row);
                    continue;
                }
                if (current.Count >= FlagRuns.MinimumLength)
                    spans.Add(current);
                current = [];
            }
            if (current.Count >= FlagRuns.MinimumLength)
                spans.Add(current);
        }
        return spans.OrderByDescending(s => s.Count).Take(most).OrderBy(s => s[0].ReadInt64("Uid")).ToList();
    }

    /// <summary>
    /// Writes <paramref name="run"/> into its rows and drops it from the folder row. A row older than the run takes
    /// the run's flags and, if they changed, its MODSEQ; that is what every reader already composed for it, so
    /// nothing visible changes and the folder's HIGHESTMODSEQ stays. Rows are written first, in transactions of 100
    /// guarded by their ETags (a row changed meanwhile is newer than the run and is skipped when read again; a row
    /// the run does not change is not written), and
    /// the run goes last, so a reader never sees a row without the run's effect.
    /// </summary>
    private async Task FoldAsync(string partition, string folder, FlagRun run, CancellationToken cancellationToken)
    {
        try
        {
            await FoldCoreAsync(partition, folder, run, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Writer.ForgetFolderRow(partition, folder); // the run's removal changed the folder row
        }
    }

    private async Task FoldCoreAsync(string partition, string folder, FlagRun run, CancellationToken cancellationToken)
    {
        var filter = UidRange(partition, folder, run.FirstUid, run.LastUid);
        var stale = new List<TableEntity>();
        await foreach (var e in mailboxes.QueryRowsAsync(filter, FlagColumns, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (Unfolded(run, e))
                stale.Add(e);
        }
        await Parallel.ForEachAsync(stale.Chunk(100), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (chunk, ct) =>
        {
            var rows = chunk.ToList();
            for (int attempt = 0; rows.Count > 0; attempt++)
            {
                var actions = new List<TableTransactionAction>();
                foreach (var row in rows)
                {
                    var folded = new TableEntity(partition, row.RowKey) { ["Flags"] = run.Edit.Apply(row.ReadString("Flags") ?? string.Empty), ["ModSeq"] = run.ModSeq };
                    actions.Add(new(TableTransactionActionType.UpdateMerge, folded, row.ETag));
                }
                try
                {
                    await mailboxes.SubmitTransactionAsync(actions, ct).ConfigureAwait(false);
                    return;
                }
                catch (TableTransactionFailedException e) when (e.Status is 404 or 412 && WriteConflicts.CanRetry(attempt))
                {
                    // Expunged or changed since: read them again and keep those still older than the run.
                    await WriteConflicts.PauseAsync(attempt, ct).ConfigureAwait(false);
                    var again = await ReadMessageRowsAsync(partition, folder, rows.Select(r => r.ReadInt64("Uid") ?? 0).ToList(), FlagColumns, ct).ConfigureAwait(false);
                    rows = again.Values.Where(r => Unfolded(run, r)).ToList();
                }
            }
        }).ConfigureAwait(false);
        var folderKey = MailboxKeys.FolderRow(folder);
        for (int attempt = 0; ; attempt++)
        {
            var state = await mailboxes.GetRowAsync(partition, folderKey, ["RowKey", FlagRuns.Column], cancellationToken).ConfigureAwait(false) ?? throw new FolderNotFoundException(folder);
            var runs = FlagRuns.Parse(state.ReadString(FlagRuns.Column));
            if (!runs.Any(r => r.ModSeq == run.ModSeq))
                return;
            try
            {
                await mailboxes.UpdateRowAsync(new TableEntity(partition, folderKey) { [FlagRuns.Column] = FlagRuns.Format(runs.Where(r => r.ModSeq != run.ModSeq)) }, state.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException e) when (e.Status == 412 && WriteConflicts.CanRetry(attempt))
            {
                await WriteConflicts.PauseAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A row older than <paramref name="run"/> whose flags the run changes: what a fold must write.</summary>
    private static bool Unfolded(FlagRun run, TableEntity row) =>
        (row.ReadInt64("ModSeq") ?? 0) < run.ModSeq && run.Edit.Apply(row.ReadString("Flags") ?? string.Empty) != (row.ReadString("Flags") ?? string.Empty);
}
