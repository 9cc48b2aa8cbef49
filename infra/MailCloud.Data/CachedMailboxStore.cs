using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using MailCloud.Core;

namespace MailCloud.Data;

/// <summary>
/// A per-host cache in front of an <see cref="IMailboxStore"/>, shared by every session of the host: per folder, the
/// message list (UID, flags, MODSEQ, size, date, blob) and the summaries FETCH and SEARCH read (ENVELOPE,
/// BODYSTRUCTURE, header block, addresses...), read along with the list when the folder is small enough
/// (<see cref="SummariesUpTo"/>). Opening a folder that did not change since it was last read costs one
/// point read of its state row; one that changed costs that plus the rows changed since the MODSEQ the cache holds
/// (and, only when messages went away, the list of UIDs). Summaries never change once written (a message's flags are
/// not part of them), so they are served from memory until evicted. Bounded in bytes (least recently used folders
/// go first) and folders unused for <see cref="IdleAfter"/> are dropped.
/// </summary>
public sealed class CachedMailboxStore(IMailboxStore inner, long budgetBytes = CachedMailboxStore.DefaultBudget, TimeProvider? time = null) : IMailboxStore
{
    public const long DefaultBudget = 256L << 20;
    public static readonly TimeSpan IdleAfter = TimeSpan.FromMinutes(10);

    /// <summary>Rough bytes per cached list entry (record, strings shared or short) and per summary beyond its strings.</summary>
    private const int ListEntryBytes = 120, DetailsBytes = 160;

    /// <summary>Rough bytes of a plain message's summary in memory (envelope, structures, header block, addresses).</summary>
    private const int SummaryEstimateBytes = 2048;

    /// <summary>
    /// A folder this small is read with its summaries on its first open: the same requests, wider rows, and the
    /// FETCH of headers or envelopes a client sends next (a first sync) needs no read of its own. At most an eighth of
    /// the budget goes to summaries read this way, so one large folder cannot push every other out; a larger folder
    /// reads them when asked for.
    /// </summary>
    public int SummariesUpTo => (int)Math.Min(int.MaxValue, budgetBytes / 8 / SummaryEstimateBytes);

    private readonly ConcurrentDictionary<(string User, string Folder), Entry> _folders = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _bytes;
    private long _lastSweep;

    public IMailboxStore Inner => inner;

    /// <summary>Bytes the cache holds now (estimated).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Opens served without reading the folder's messages (for tests and the benchmark).</summary>
    public long Hits => Interlocked.Read(ref _hits);
    private long _hits;

    public async Task<FolderSnapshot> OpenAsync(MailAddress user, string folder, CancellationToken cancellationToken = default)
    {
        var key = (user.Address, folder);
        if (_folders.TryGetValue(key, out var entry))
        {
            var info = await inner.GetFolderAsync(user, folder, cancellationToken).ConfigureAwait(false);
            if (info is null)
            {
                Drop(key);
                return new FolderSnapshot(0, [], null);
            }
            // A MODSEQ never goes back within one UIDVALIDITY: one that did means the index was replaced (lost and
            // rebuilt, its UIDVALIDITY counter with it), and cached UIDs may now name other messages.
            if (entry.UidValidity != info.UidValidity || info.HighestModSeq < entry.HighestModSeq)
                return await LoadAsync(key, user, folder, cancellationToken).ConfigureAwait(false);
            await entry.Refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!entry.Dropped)
                {
                    await CatchUpAsync(user, folder, entry, info, cancellationToken).ConfigureAwait(false);
                    Touch(entry);
                    return new FolderSnapshot(info.UidValidity, entry.Snapshot(), info);
                }
            }
            finally
            {
                entry.Refresh.Release();
            }
        }
        return await LoadAsync(key, user, folder, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Not cached (or a new UIDVALIDITY): one read of the folder as the store does it, kept for the next session.</summary>
    private async Task<FolderSnapshot> LoadAsync((string, string) key, MailAddress user, string folder, CancellationToken cancellationToken)
    {
        var snapshot = await inner.OpenAsync(user, folder, SummariesUpTo, cancellationToken).ConfigureAwait(false);
        if (snapshot.Folder is null)
            Drop(key);
        if (snapshot.Folder is { } opened)
        {
            var fresh = new Entry(opened.UidValidity, opened.HighestModSeq, snapshot.Messages);
            if (_folders.TryGetValue(key, out var old))
                Drop(key, old);
            if (_folders.TryAdd(key, fresh))
            {
                Touch(fresh); // before it counts against the budget, or it would be the first to go
                Grow(fresh, (long)snapshot.Messages.Count * ListEntryBytes);
                if (snapshot.Summaries is { } summaries)
                    Grow(fresh, fresh.Remember(MessageDetail.Summary, summaries));
            }
        }
        return snapshot;
    }

    /// <summary>Brings a cached list up to <paramref name="info"/>: nothing to read when the MODSEQ and the count agree.</summary>
    private async Task CatchUpAsync(MailAddress user, string folder, Entry entry, FolderInfo info, CancellationToken cancellationToken)
    {
        if (entry.HighestModSeq == info.HighestModSeq && entry.Count == info.Exists)
        {
            Interlocked.Increment(ref _hits);
            return;
        }
        if (entry.HighestModSeq != info.HighestModSeq)
        {
            // The change log names what changed (no scan); without it, the rows changed since, read after the state
            // row, so they hold at least every change up to info.HighestModSeq.
            if (await inner.ReadChangeLogAsync(user, info, entry.HighestModSeq, cancellationToken).ConfigureAwait(false) is { } log)
            {
                Grow(entry, -entry.Remove(log.Expunged) * ListEntryBytes);
                Grow(entry, entry.Apply(log.Changed) * ListEntryBytes);
            }
            else
                Grow(entry, entry.Apply(await inner.ChangedSinceAsync(user, folder, entry.HighestModSeq, cancellationToken).ConfigureAwait(false)) * ListEntryBytes);
        }
        if (entry.Count != info.Exists)
        {
            var present = await inner.ListUidsAsync(user, folder, cancellationToken).ConfigureAwait(false);
            Grow(entry, -entry.Retain(present) * ListEntryBytes);
        }
        entry.HighestModSeq = info.HighestModSeq;
    }

    public async IAsyncEnumerable<MessageDetails> QueryMessagesAsync(MailAddress user, string folder, long firstUid, long lastUid, MessageDetail detail,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (detail is MessageDetail.Copy or MessageDetail.Listing or MessageDetail.Content || !_folders.TryGetValue((user.Address, folder), out var entry))
        {
            await foreach (var row in inner.QueryMessagesAsync(user, folder, firstUid, lastUid, detail, cancellationToken).ConfigureAwait(false))
                yield return row;
            yield break;
        }
        Touch(entry);
        // Listed messages without a cached summary, and anything above the largest listed UID (arrived since the
        // list was read; UIDs only grow, so nothing unknown can hide lower down).
        var (missingFirst, missingLast) = entry.Missing(detail, firstUid, lastUid);
        var newest = entry.LargestUid;
        if (lastUid > newest)
            (missingFirst, missingLast) = (Math.Min(missingFirst, Math.Max(firstUid, newest + 1)), lastUid);
        var unlisted = new List<MessageDetails>();
        if (missingFirst <= missingLast)
        {
            var loaded = new List<MessageDetails>();
            await foreach (var row in inner.QueryMessagesAsync(user, folder, missingFirst, missingLast, detail, cancellationToken).ConfigureAwait(false))
                loaded.Add(row);
            Grow(entry, entry.Remember(detail, loaded));
            unlisted.AddRange(loaded.Where(r => r.Uid > newest));
        }
        foreach (var row in entry.Details(detail, firstUid, Math.Min(lastUid, newest)))
            yield return row;
        foreach (var row in unlisted)
            yield return row;
    }

    public async Task<MessageDetails?> GetMessageAsync(MailAddress user, string folder, long uid, MessageDetail detail, CancellationToken cancellationToken = default)
    {
        if (detail is MessageDetail.Copy or MessageDetail.Listing or MessageDetail.Content || !_folders.TryGetValue((user.Address, folder), out var entry))
            return await inner.GetMessageAsync(user, folder, uid, detail, cancellationToken).ConfigureAwait(false);
        Touch(entry);
        if (entry.Detail(detail, uid) is { } cached)
            return cached;
        var row = await inner.GetMessageAsync(user, folder, uid, detail, cancellationToken).ConfigureAwait(false);
        if (row is not null)
            Grow(entry, entry.Remember(detail, [row]));
        return row;
    }

    public async Task<FlagUpdateResult> UpdateFlagsAsync(MailAddress user, string folder, IReadOnlyList<long> uids, FlagEdit edit, long? unchangedSince = null, CancellationToken cancellationToken = default)
    {
        // A long STORE (a flag run) hands the store the cached folder, so it need not read the rows' flags when the
        // folder is still where the cache last saw it; the store checks that against the folder row itself.
        var known = unchangedSince is null && uids.Count >= FlagRuns.MinimumLength ? await KnowledgeAsync(user, folder, cancellationToken).ConfigureAwait(false) : null;
        var result = known is null
            ? await inner.UpdateFlagsAsync(user, folder, uids, edit, unchangedSince, cancellationToken).ConfigureAwait(false)
            : await inner.UpdateFlagsAsync(user, folder, uids, edit, known, cancellationToken).ConfigureAwait(false);
        // The list learns the new flags at once. Its MODSEQ moves on only when nothing else changed the folder in
        // between (the update's steps follow on from it); otherwise the next open reads what others changed.
        if (_folders.TryGetValue((user.Address, folder), out var entry))
        {
            entry.ApplyFlags(result.Changed);
            await entry.Refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (result.ContinuesFrom(entry.HighestModSeq) is { } now)
                    entry.HighestModSeq = now;
            }
            finally
            {
                entry.Refresh.Release();
            }
        }
        return result;
    }

    public Task<FlagUpdateResult> UpdateFlagsAsync(MailAddress user, string folder, IReadOnlyList<long> uids, FlagEdit edit, FolderKnowledge known, CancellationToken cancellationToken = default) =>
        inner.UpdateFlagsAsync(user, folder, uids, edit, known, cancellationToken);

    /// <summary>The cached folder with the MODSEQ it is complete at (taken together, under the catch-up lock); null when not cached.</summary>
    private async Task<FolderKnowledge?> KnowledgeAsync(MailAddress user, string folder, CancellationToken cancellationToken)
    {
        if (!_folders.TryGetValue((user.Address, folder), out var entry))
            return null;
        await entry.Refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return entry.Dropped ? null : new FolderKnowledge(entry.HighestModSeq, entry.Snapshot());
        }
        finally
        {
            entry.Refresh.Release();
        }
    }

    public async Task<IReadOnlyList<long>> ExpungeAsync(MailAddress user, string folder, IReadOnlyList<MailboxMessage> messages, CancellationToken cancellationToken = default)
    {
        var removed = await inner.ExpungeAsync(user, folder, messages, cancellationToken).ConfigureAwait(false);
        if (_folders.TryGetValue((user.Address, folder), out var entry))
            Grow(entry, -entry.Remove(removed) * ListEntryBytes);
        return removed;
    }

    public async Task<bool> DeleteFolderAsync(MailAddress user, string name, CancellationToken cancellationToken = default)
    {
        Drop((user.Address, name));
        return await inner.DeleteFolderAsync(user, name, cancellationToken).ConfigureAwait(false);
    }

    public async Task RenameFolderAsync(MailAddress user, string from, string to, CancellationToken cancellationToken = default)
    {
        foreach (var key in _folders.Keys.Where(k => k.User == user.Address && (k.Folder == from || k.Folder.StartsWith(from + MailboxStore.Separator, StringComparison.Ordinal) || k.Folder == to)))
            Drop(key);
        await inner.RenameFolderAsync(user, from, to, cancellationToken).ConfigureAwait(false);
    }

    // Everything else reads or writes state rows, which the cache does not hold.
    public Task<FolderInfo?> GetFolderAsync(MailAddress user, string folder, CancellationToken cancellationToken = default) => inner.GetFolderAsync(user, folder, cancellationToken);
    public Task<IReadOnlyList<FolderInfo>> ListFoldersAsync(MailAddress user, CancellationToken cancellationToken = default) => inner.ListFoldersAsync(user, cancellationToken);
    public Task<IReadOnlyList<MailboxMessage>> ChangedSinceAsync(MailAddress user, string folder, long modSeq, CancellationToken cancellationToken = default) => inner.ChangedSinceAsync(user, folder, modSeq, cancellationToken);
    public Task<HashSet<long>> ListUidsAsync(MailAddress user, string folder, CancellationToken cancellationToken = default) => inner.ListUidsAsync(user, folder, cancellationToken);
    public Task<FolderChangeSet?> ReadChangeLogAsync(MailAddress user, FolderInfo folder, long modSeq, CancellationToken cancellationToken = default) => inner.ReadChangeLogAsync(user, folder, modSeq, cancellationToken);
    public Task<(long UsedBytes, int Messages)> GetUsageAsync(MailAddress user, CancellationToken cancellationToken = default) => inner.GetUsageAsync(user, cancellationToken);
    public Task EnsureDefaultFoldersAsync(MailAddress user, CancellationToken cancellationToken = default) => inner.EnsureDefaultFoldersAsync(user, cancellationToken);
    public Task<bool> CreateFolderAsync(MailAddress user, string name, CancellationToken cancellationToken = default) => inner.CreateFolderAsync(user, name, cancellationToken);
    public Task<long> GetRecentClaimAsync(MailAddress user, string folder, long uidValidity, CancellationToken cancellationToken = default) => inner.GetRecentClaimAsync(user, folder, uidValidity, cancellationToken);
    public Task<long> ClaimRecentAsync(MailAddress user, string folder, long uidValidity, long upToUid, CancellationToken cancellationToken = default) => inner.ClaimRecentAsync(user, folder, uidValidity, upToUid, cancellationToken);
    public Task<IReadOnlySet<string>> ListSubscriptionsAsync(MailAddress user, IEnumerable<FolderInfo> folders, CancellationToken cancellationToken = default) => inner.ListSubscriptionsAsync(user, folders, cancellationToken);
    public Task<bool> SetSubscribedAsync(MailAddress user, string name, bool subscribed, CancellationToken cancellationToken = default) => inner.SetSubscribedAsync(user, name, subscribed, cancellationToken);
    public Task<IReadOnlyList<AddedEntry>> AddAsync(MailAddress user, string folder, IReadOnlyList<MailboxEntry> entries, bool createFolder, CancellationToken cancellationToken = default) => inner.AddAsync(user, folder, entries, createFolder, cancellationToken);
    public Task<IReadOnlyList<AddedEntry>> AddAsync(MailAddress user, string folder, IReadOnlyList<MailboxEntry> entries, bool createFolder, Task contentWritten, CancellationToken cancellationToken = default) => inner.AddAsync(user, folder, entries, createFolder, contentWritten, cancellationToken);
    public Task<IAsyncDisposable?> TryLockAsync(MailAddress user, string name, TimeSpan ttl, CancellationToken cancellationToken = default) => inner.TryLockAsync(user, name, ttl, cancellationToken);

    private void Touch(Entry entry)
    {
        var now = _time.GetTimestamp();
        Volatile.Write(ref entry.LastUsed, now);
        var last = Interlocked.Read(ref _lastSweep);
        if (_time.GetElapsedTime(last, now) > TimeSpan.FromMinutes(1) && Interlocked.CompareExchange(ref _lastSweep, now, last) == last)
        {
            foreach (var (key, e) in _folders)
            {
                if (_time.GetElapsedTime(Volatile.Read(ref e.LastUsed), now) > IdleAfter)
                    Drop(key, e);
            }
        }
    }

    private void Grow(Entry entry, long bytes)
    {
        if (bytes == 0 || entry.Dropped)
            return;
        Interlocked.Add(ref entry.Bytes, bytes);
        if (Interlocked.Add(ref _bytes, bytes) <= budgetBytes)
            return;
        // Over budget: the least recently used folders go until 90 % of it is left.
        foreach (var (key, e) in _folders.OrderBy(f => Volatile.Read(ref f.Value.LastUsed)).ToList())
        {
            if (Interlocked.Read(ref _bytes) <= budgetBytes * 9 / 10)
                break;
            Drop(key, e);
        }
    }

    private void Drop((string, string) key)
    {
        if (_folders.TryGetValue(key, out var entry))
            Drop(key, entry);
    }

    private void Drop((string, string) key, Entry entry)
    {
        if (!_folders.TryRemove(new KeyValuePair<(string, string), Entry>(key, entry)))
            return;
        entry.Dropped = true;
        Interlocked.Add(ref _bytes, -Interlocked.Exchange(ref entry.Bytes, 0));
    }

    /// <summary>One folder's cached state. The list is guarded by its own lock; summaries are immutable once added.</summary>
    private sealed class Entry
    {
        private readonly Lock _gate = new();
        private readonly SortedList<long, MailboxMessage> _messages = new();
        private readonly ConcurrentDictionary<long, MessageDetails> _summaries = new(), _search = new();

        public Entry(long uidValidity, long highestModSeq, IEnumerable<MailboxMessage> messages)
        {
            UidValidity = uidValidity;
            HighestModSeq = highestModSeq;
            foreach (var m in messages)
                _messages[m.Uid] = m;
        }

        public long UidValidity { get; }
        public long HighestModSeq;
        public long LastUsed;
        public long Bytes;
        public volatile bool Dropped;

        /// <summary>One catch-up at a time: the sessions that open the folder together share it.</summary>
        public SemaphoreSlim Refresh { get; } = new(1, 1);

        public long LargestUid
        {
            get
            {
                lock (_gate)
                    return _messages.Count == 0 ? 0 : _messages.Keys[^1];
            }
        }

        public int Count
        {
            get
            {
                lock (_gate)
                    return _messages.Count;
            }
        }

        public List<MailboxMessage> Snapshot()
        {
            lock (_gate)
                return [.. _messages.Values];
        }

        /// <summary>Rows read from storage replace older copies (by MODSEQ); returns how many were new.</summary>
        public int Apply(IEnumerable<MailboxMessage> rows)
        {
            int added = 0;
            lock (_gate)
            {
                foreach (var m in rows)
                {
                    if (_messages.TryGetValue(m.Uid, out var old))
                    {
                        if (m.ModSeq >= old.ModSeq)
                            _messages[m.Uid] = m;
                    }
                    else
                    {
                        _messages[m.Uid] = m;
                        added++;
                    }
                }
            }
            return added;
        }

        public void ApplyFlags(IEnumerable<FlagChange> changes)
        {
            lock (_gate)
            {
                foreach (var c in changes)
                {
                    if (_messages.TryGetValue(c.Uid, out var old) && c.ModSeq >= old.ModSeq)
                        _messages[c.Uid] = old with { Flags = c.Flags, ModSeq = c.ModSeq };
                }
            }
        }

        /// <summary>Keeps only the UIDs still present; returns how many went.</summary>
        public int Retain(HashSet<long> present)
        {
            lock (_gate)
                return Remove(_messages.Keys.Where(u => !present.Contains(u)).ToList());
        }

        public int Remove(IEnumerable<long> uids)
        {
            int removed = 0;
            lock (_gate)
            {
                foreach (var uid in uids)
                {
                    if (_messages.Remove(uid))
                        removed++;
                }
            }
            return removed;
        }

        // Only Summary and Search are cached (the store passes Copy, Listing and Content through).
        private ConcurrentDictionary<long, MessageDetails> Of(MessageDetail detail) => detail == MessageDetail.Summary ? _summaries : _search;

        /// <summary>A cached row for <paramref name="detail"/>: for Search, a summary serves too (its columns are a superset).</summary>
        private bool TryGet(MessageDetail detail, long uid, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MessageDetails? row) =>
            Of(detail).TryGetValue(uid, out row) || detail == MessageDetail.Search && _summaries.TryGetValue(uid, out row);

        public MessageDetails? Detail(MessageDetail detail, long uid) => TryGet(detail, uid, out var d) ? d : null;

        /// <summary>The smallest range holding every listed UID in [first, last] without a cached summary (empty: first > last).</summary>
        public (long First, long Last) Missing(MessageDetail detail, long first, long last)
        {
            long lo = long.MaxValue, hi = long.MinValue;
            lock (_gate)
            {
                foreach (var uid in Range(first, last))
                {
                    if (!TryGet(detail, uid, out _))
                    {
                        lo = Math.Min(lo, uid);
                        hi = Math.Max(hi, uid);
                    }
                }
            }
            return (lo, hi);
        }

        public IEnumerable<MessageDetails> Details(MessageDetail detail, long first, long last)
        {
            List<long> uids;
            lock (_gate)
                uids = Range(first, last).ToList();
            foreach (var uid in uids)
            {
                if (TryGet(detail, uid, out var d))
                    yield return d;
            }
        }

        /// <summary>Adds summaries; returns the bytes they take.</summary>
        public long Remember(MessageDetail detail, IEnumerable<MessageDetails> rows)
        {
            var cache = Of(detail);
            long bytes = 0;
            foreach (var row in rows)
            {
                if (cache.TryAdd(row.Uid, row))
                    bytes += DetailsBytes + 2L * ((row.Envelope?.Length ?? 0) + (row.Body?.Length ?? 0) + (row.BodyStructure?.Length ?? 0) + (row.Parts?.Length ?? 0)
                        + (row.Subject?.Length ?? 0) + (row.From?.Length ?? 0) + (row.To?.Length ?? 0) + (row.Cc?.Length ?? 0) + row.Blob.Length) + (row.Header?.Length ?? 0);
            }
            return bytes;
        }

        /// <summary>Listed UIDs in [first, last]; caller holds the lock.</summary>
        private IEnumerable<long> Range(long first, long last)
        {
            var keys = _messages.Keys;
            int lo = 0, hi = keys.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) / 2;
                if (keys[mid] < first)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (int i = lo; i < keys.Count && keys[i] <= last; i++)
                yield return keys[i];
        }
    }
}
