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
/// <param name="indexes">
/// Where a large folder's list and summaries are kept between hosts and restarts (<see cref="IFolderIndexSnapshots"/>);
/// null reads every uncached folder from its rows.
/// </param>
public sealed partial class CachedMailboxStore(IMailboxStore inner, long budgetBytes = CachedMailboxStore.DefaultBudget, TimeProvider? time = null,
    IFolderIndexSnapshots? indexes = null) : IMailboxStore
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
                return await LoadAsync(key, user, folder, info, cancellationToken).ConfigureAwait(false);
            await entry.Refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!entry.Dropped)
                {
                    await CatchUpAsync(user, folder, entry, info, cancellationToken).ConfigureAwait(false);
                    IndexIfChanged(key, user, entry);
                    Touch(entry);
                    return new FolderSnapshot(info.UidValidity, entry.Snapshot(), info);
                }
            }
            finally
            {
                entry.Refresh.Release();
            }
        }
        return await LoadAsync(key, user, folder, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Not cached (or a new UIDVALIDITY): a large folder from its stored index when there is one, else one read of the
    /// folder as the store does it; kept for the next session either way. <paramref name="info"/>: the state row, when
    /// the caller has just read it.
    /// </summary>
    private async Task<FolderSnapshot> LoadAsync((string, string) key, MailAddress user, string folder, FolderInfo? info, CancellationToken cancellationToken)
    {
        if (indexes is null)
            return Keep(key, await inner.OpenAsync(user, folder, SummariesUpTo, cancellationToken).ConfigureAwait(false)).Snapshot;
        info ??= await inner.GetFolderAsync(user, folder, cancellationToken).ConfigureAwait(false);
        if (info is null)
        {
            Drop(key);
            return new FolderSnapshot(0, [], null);
        }
        if (info.Exists >= IndexFrom && await FromStoredIndexAsync(key, user, info, cancellationToken).ConfigureAwait(false) is { } restored)
            return restored;
        var (snapshot, kept) = Keep(key, await inner.OpenAsync(user, info, SummariesUpTo, cancellationToken).ConfigureAwait(false));
        if (kept is not null && info.Exists >= IndexFrom)
            StartIndexWrite(key, user, kept);
        return snapshot;
    }

    /// <summary>Caches a folder just read from its rows (its entry replaces an older one); null when the folder is gone or another session's entry won.</summary>
    private (FolderSnapshot Snapshot, Entry? Kept) Keep((string, string) key, FolderSnapshot snapshot)
    {
        if (snapshot.Folder is not { } opened)
        {
            Drop(key);
            return (snapshot, null);
        }
        var fresh = new Entry(opened.UidValidity, opened.HighestModSeq, snapshot.Messages);
        if (_folders.TryGetValue(key, out var old))
            Drop(key, old);
        if (!_folders.TryAdd(key, fresh))
            return (snapshot, null);
        Touch(fresh); // before it counts against the budget, or it would be the first to go
        Grow(fresh, (long)snapshot.Messages.Count * ListEntryBytes);
        if (snapshot.Summaries is { } summaries)
            Grow(fresh, fresh.Remember(MessageDetail.Summary, summaries));
        return (snapshot, fresh);
    }

    /// <summary>Brings a cached list up to <paramref name="info"/>: nothing to read when the MODSEQ and the count agree.</summary>
    /// <returns>False when the change log did not reach back and the folder's rows were queried instead.</returns>
    private async Task<bool> CatchUpAsync(MailAddress user, string folder, Entry entry, FolderInfo info, CancellationToken cancellationToken)
    {
        bool fromLog = true;
        if (entry.HighestModSeq == info.HighestModSeq && entry.Count == info.Exists)
        {
            Interlocked.Increment(ref _hits);
            return fromLog;
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
            {
                fromLog = false;
                Grow(entry, entry.Apply(await inner.ChangedSinceAsync(user, folder, entry.HighestModSeq, cancellationToken).ConfigureAwait(false)) * ListEntryBytes);
            }
        }
        if (entry.Count != info.Exists)
        {
            fromLog = false;
            var present = await inner.ListUidsAsync(user, folder, cancellationToken).ConfigureAwait(false);
            Grow(entry, -entry.Retain(present) * ListEntryBytes);
        }
        entry.HighestModSeq = info.HighestModSeq;
        return fromLog;
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
        Unpack(entry);
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
        Unpack(entry);
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
            IndexIfChanged((user.Address, folder), user, entry);
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
        {
            Grow(entry, -entry.Remove(removed) * ListEntryBytes);
            IndexIfChanged((user.Address, folder), user, entry);
        }
        return removed;
    }

    public async Task<bool> DeleteFolderAsync(MailAddress user, string name, CancellationToken cancellationToken = default)
    {
        Drop((user.Address, name));
        var gone = indexes is null ? null : await inner.GetFolderAsync(user, name, cancellationToken).ConfigureAwait(false);
        var deleted = await inner.DeleteFolderAsync(user, name, cancellationToken).ConfigureAwait(false);
        if (deleted && gone is not null)
            await ForgetIndexesAsync(user, [gone], cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    public async Task RenameFolderAsync(MailAddress user, string from, string to, CancellationToken cancellationToken = default)
    {
        static bool Moves(string name, string from) => name == from || from != "INBOX" && name.StartsWith(from + MailboxStore.Separator, StringComparison.Ordinal);
        foreach (var key in _folders.Keys.Where(k => k.User == user.Address && (Moves(k.Folder, from) || k.Folder == to)))
            Drop(key);
        // The moved folders' indexes name UIDs that are gone now (INBOX keeps its UIDVALIDITY but is emptied).
        var moving = indexes is null ? [] : (await inner.ListFoldersAsync(user, cancellationToken).ConfigureAwait(false)).Where(f => Moves(f.Name, from)).ToList();
        await inner.RenameFolderAsync(user, from, to, cancellationToken).ConfigureAwait(false);
        await ForgetIndexesAsync(user, moving, cancellationToken).ConfigureAwait(false);
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
}
