using System.Collections.Concurrent;
using MailCloud.Core;

namespace MailCloud.Data;

/// <summary>
/// Stored folder indexes (<see cref="IFolderIndexSnapshots"/>): a large folder the host has not got in memory is
/// opened from the index another host (or this one before a restart) wrote, caught up from the index's MODSEQ
/// exactly as a cached folder is, instead of reading every message row. Like Dovecot's dovecot.index next to the
/// mail: a cache that can always be rebuilt from the rows. Indexes are written in the background after a folder was
/// read from its rows, or after a catch-up from an index that had fallen far behind.
/// </summary>
public sealed partial class CachedMailboxStore
{
    /// <summary>
    /// Folders with fewer messages are read from their rows (a page or two; an index would be one request either
    /// way, and would only add writes).
    /// </summary>
    public int IndexFrom { get; init; } = 500;

    /// <summary>
    /// How long an index write waits before it starts: serializing a large folder and uploading it would otherwise
    /// compete with the commands a client sends right after its SELECT (FETCH of envelopes, SEARCH).
    /// </summary>
    public TimeSpan IndexWriteDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>An index this many MODSEQs behind the folder is written again after the open that caught up from it.</summary>
    public const int RewriteIndexAfter = 32;

    /// <summary>
    /// Writes the folder's index again when the cached entry has moved far from it: messages changed, added or removed
    /// since, at least half of <see cref="IndexFrom"/> and a tenth of the folder. A host that opens it next catches up
    /// from near the present, and a STORE on the whole folder costs one index write instead of a read of every row on
    /// every other host's next open.
    /// </summary>
    private void IndexIfChanged((string User, string Folder) key, MailAddress user, Entry entry)
    {
        var count = entry.Count;
        if (indexes is not null && count >= IndexFrom && Volatile.Read(ref entry.Unindexed) >= Math.Max(IndexFrom / 2, count / 10))
            StartIndexWrite(key, user, entry);
    }

    private readonly ConcurrentDictionary<(string User, string Folder), Task> _indexWrites = new();
    /// <summary>One index write per host at a time (each holds a copy of a large folder while it serializes).</summary>
    private SemaphoreSlim OneIndexWrite { get; } = new(1, 1);
    private long _indexOpens, _indexesWritten, _indexFailures;

    private long _summariesInflated;

    /// <summary>Folders opened from an index whose packed summaries a FETCH or SEARCH then inflated (a SELECT alone does not).</summary>
    public long IndexSummariesInflated => Interlocked.Read(ref _summariesInflated);

    private void Unpack(Entry entry)
    {
        if (entry.Unpack() is { } bytes)
        {
            Grow(entry, bytes);
            Interlocked.Increment(ref _summariesInflated);
        }
    }

    /// <summary>Opens served from a stored index (for tests and the benchmark).</summary>
    public long IndexOpens => Interlocked.Read(ref _indexOpens);

    public long IndexesWritten => Interlocked.Read(ref _indexesWritten);

    /// <summary>Index writes or deletes that failed (the index is a cache: the folder's rows stay the truth).</summary>
    public long IndexFailures => Interlocked.Read(ref _indexFailures);

    /// <summary>Waits for the index writes started so far (tests, and a host shutting down).</summary>
    public Task FlushIndexWritesAsync() => Task.WhenAll(_indexWrites.Values);

    /// <summary>
    /// The folder from its stored index, caught up to <paramref name="info"/> (the state row just read); null when
    /// there is no index of this incarnation that could be as old or older than the row.
    /// </summary>
    private async Task<FolderSnapshot?> FromStoredIndexAsync((string, string) key, MailAddress user, FolderInfo info, CancellationToken cancellationToken)
    {
        var stored = await indexes!.ReadAsync(user, info.Name, info.UidValidity, cancellationToken).ConfigureAwait(false);
        // MODSEQs and UIDs only grow within a UIDVALIDITY: an index ahead of the row is not of this folder's history.
        if (stored is null || stored.UidValidity != info.UidValidity || stored.HighestModSeq > info.HighestModSeq || stored.UidNext > info.UidNext)
            return null;
        var fresh = new Entry(info.UidValidity, stored.HighestModSeq, stored.Messages);
        await fresh.Refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_folders.TryGetValue(key, out var old))
                Drop(key, old);
            if (!_folders.TryAdd(key, fresh))
                return null; // another session of this host loaded it meanwhile: open through its entry
            Touch(fresh);
            Grow(fresh, (long)stored.Messages.Count * ListEntryBytes);
            Grow(fresh, fresh.Remember(MessageDetail.Summary, stored.Summaries));
            if (stored.Packed is { } packed)
                Grow(fresh, fresh.Pack(packed)); // inflated by the first FETCH or SEARCH that needs them, not by this SELECT
            var fromLog = await CatchUpAsync(user, info.Name, fresh, info, cancellationToken).ConfigureAwait(false);
            if (fresh.Count != info.Exists)
            {
                // Caught up and still not the folder's count: the index (or rows written outside the store, without
                // a MODSEQ of their own) cannot be trusted. The rows are read instead, and a new index written from them.
                Drop(key, fresh);
                return null;
            }
            Interlocked.Increment(ref _indexOpens);
            if (!fromLog || info.HighestModSeq - stored.HighestModSeq >= RewriteIndexAfter)
                StartIndexWrite(key, user, fresh);
            else
                IndexIfChanged(key, user, fresh);
            return new FolderSnapshot(info.UidValidity, fresh.Snapshot(), info);
        }
        finally
        {
            fresh.Refresh.Release();
        }
    }

    /// <summary>Writes the entry's list and summaries as the folder's index, in the background, one write per host at a time.</summary>
    private void StartIndexWrite((string User, string Folder) key, MailAddress user, Entry entry)
    {
        if (indexes is null || _indexWrites.ContainsKey(key))
            return;
        var write = new TaskCompletionSource();
        if (!_indexWrites.TryAdd(key, write.Task))
            return;
        _ = Task.Run(async () =>
        {
            try
            {
                if (IndexWriteDelay > TimeSpan.Zero)
                    await Task.Delay(IndexWriteDelay, _time).ConfigureAwait(false);
                await OneIndexWrite.WaitAsync().ConfigureAwait(false);
                try
                {
                    Unpack(entry); // an index written without them would lose the summaries it was opened with
                    StoredFolderIndex index;
                    // The list and the MODSEQ it is complete at, taken together (a catch-up moves both under this lock).
                    await entry.Refresh.WaitAsync().ConfigureAwait(false);
                    try
                    {
                        if (entry.Dropped)
                            return;
                        index = new StoredFolderIndex(entry.UidValidity, entry.HighestModSeq, entry.LargestUid + 1, entry.Snapshot(), entry.ListedSummaries());
                        Interlocked.Exchange(ref entry.Unindexed, 0);
                    }
                    finally
                    {
                        entry.Refresh.Release();
                    }
                    await indexes.WriteAsync(user, key.Folder, index).ConfigureAwait(false);
                    Interlocked.Increment(ref _indexesWritten);
                }
                finally
                {
                    OneIndexWrite.Release();
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Interlocked.Increment(ref _indexFailures); // the next load from rows tries again
            }
            finally
            {
                _indexWrites.TryRemove(key, out _);
                write.SetResult();
            }
        });
    }

    /// <summary>Removes the indexes of folders that were deleted or moved away (best effort: an orphan only takes space).</summary>
    private async Task ForgetIndexesAsync(MailAddress user, IEnumerable<FolderInfo> folders, CancellationToken cancellationToken)
    {
        foreach (var f in folders)
        {
            if (_indexWrites.TryGetValue((user.Address, f.Name), out var pending))
                await pending.ConfigureAwait(false); // a write finishing after the delete would bring it back
            try
            {
                await indexes!.DeleteAsync(user, f.Name, f.UidValidity, cancellationToken).ConfigureAwait(false);
            }
            catch (Azure.RequestFailedException)
            {
                Interlocked.Increment(ref _indexFailures);
            }
        }
    }
}
