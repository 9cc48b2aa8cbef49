using System.Collections.Concurrent;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Imap;

/// <summary>
/// A folder's state row and the messages changed after a MODSEQ, read together; <paramref name="Expunged"/> are the
/// UIDs removed meanwhile when the change log says (null: unknown, compare counts and list the UIDs).
/// </summary>
public sealed record FolderChanges(FolderInfo? Folder, IReadOnlyList<MailboxMessage> Changes, IReadOnlySet<long>? Expunged = null);

/// <summary>
/// Tells selected sessions that their folder changed, and lets the sessions woken by one change share the reads
/// that follow (one state read and one change query for all of them, not one per session). Changes made by sessions of this process are announced at
/// once (<see cref="Notify"/>); changes made elsewhere (the index function, other hosts) are found by polling the
/// folder's state row, once per interval per folder whatever the number of sessions, and only for folders that
/// have a session in IDLE: 1,000 clients idling on one mailbox cost one point read per interval.
/// </summary>
public sealed class FolderWatcher : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string User, string Folder), Entry> _entries = new();
    private readonly IMailboxStore _store;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _gate = new();

    public FolderWatcher(IMailboxStore store, TimeSpan interval, ILogger logger)
    {
        _store = store;
        _interval = interval;
        _logger = logger;
        _loop = Task.Run(PollLoopAsync);
    }

    /// <summary>Point reads made by the poll loop (for the benchmark).</summary>
    public long Polls => Interlocked.Read(ref _polls);
    private long _polls;

    /// <summary>
    /// The \Recent claims this process has seen, kept after a folder's last session leaves it (its entry goes), so the
    /// next SELECT needs no read of the claim row when nothing arrived since. Claims only grow within a UIDVALIDITY, so
    /// a remembered claim that covers a folder's largest UID is still true whatever other hosts did; a smaller one
    /// sends the claim to storage as before. A cache: cleared whole when it grows past <see cref="MaxRememberedClaims"/>.
    /// </summary>
    private readonly ConcurrentDictionary<(string User, string Folder), (long UidValidity, long Uid)> _claims = new();
    private const int MaxRememberedClaims = 100_000;

    public Subscription Watch(MailAddress user, string folder)
    {
        lock (_gate)
        {
            var entry = _entries.GetOrAdd((user.Address, folder), key => new Entry(user, folder) { RecentClaim = _claims.GetValueOrDefault(key) });
            entry.Subscribers++;
            return new Subscription(this, entry);
        }
    }

    /// <summary>A session of this process changed the folder.</summary>
    public void Notify(MailAddress user, string folder)
    {
        if (_entries.TryGetValue((user.Address, folder), out var e))
            e.Signal();
    }

    /// <summary>
    /// <paramref name="own"/>'s session changed its folder and already knows the result: the others are told, and
    /// the session is spared re-reading its own change unless something else was announced in the meantime.
    /// </summary>
    public static void NotifyOwn(Subscription own, ref long seenVersion)
    {
        var before = own.Version;
        var after = own.Signal();
        if (before == seenVersion && after == before + 1)
            seenVersion = after;
    }

    private async Task<FolderChanges> ReadAsync(Entry entry, long since, CancellationToken ct)
    {
        var folder = await _store.GetFolderAsync(entry.User, entry.Folder, ct).ConfigureAwait(false);
        if (folder is null || folder.HighestModSeq == since)
            return new FolderChanges(folder, []);
        if (await _store.ReadChangeLogAsync(entry.User, folder, since, ct).ConfigureAwait(false) is { } log)
            return new FolderChanges(folder, log.Changed, log.Expunged);
        return new FolderChanges(folder, await _store.ChangedSinceAsync(entry.User, entry.Folder, since, ct).ConfigureAwait(false));
    }

    private void RememberClaim(Entry entry)
    {
        if (_claims.Count >= MaxRememberedClaims)
            _claims.Clear();
        _claims[(entry.User.Address, entry.Folder)] = entry.RecentClaim;
    }

    private void Release(Entry entry)
    {
        lock (_gate)
        {
            if (--entry.Subscribers == 0)
                _entries.TryRemove((entry.User.Address, entry.Folder), out _);
        }
    }

    private async Task PollLoopAsync()
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                foreach (var entry in _entries.Values.Where(e => Volatile.Read(ref e.Idlers) > 0))
                {
                    try
                    {
                        Interlocked.Increment(ref _polls);
                        var folder = await _store.GetFolderAsync(entry.User, entry.Folder, _stop.Token).ConfigureAwait(false);
                        var state = folder is null ? (-1L, -1L, -1) : (folder.HighestModSeq, folder.UidNext, folder.Exists);
                        if (entry.LastPolled is { } last && last != state)
                            entry.Signal();
                        entry.LastPolled = state;
                    }
                    catch (Exception e) when (StorageErrors.IsStorageFailure(e))
                    {
                        _logger.LogWarning("folder poll failed: {Error}", e.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private int _disposed;

    /// <summary>Stops the poll loop; safe to call more than once (hosts and tests may both dispose).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    internal sealed class Entry(MailAddress user, string folder)
    {
        public MailAddress User { get; } = user;
        public string Folder { get; } = folder;
        public int Subscribers;
        public int Idlers;
        public long Version;
        public (long, long, int)? LastPolled;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Changed => Volatile.Read(ref _changed).Task;

        /// <summary>Reads shared by the sessions that catch up on the same change: (version, since) → result.</summary>
        public ConcurrentDictionary<(long Version, long Since), Task<FolderChanges>> Reads { get; } = new();
        public ConcurrentDictionary<long, Task<HashSet<long>>> UidLists { get; } = new();

        /// <summary>
        /// The raw message of each UID the sessions of this folder have seen, shared by them: a message another session
        /// expunged keeps its blob until housekeeping, so a session that still shows it can still serve it.
        /// </summary>
        public ConcurrentDictionary<long, string> Blobs { get; } = new();

        /// <summary>The highest UID known to be claimed as \Recent (under that UIDVALIDITY), by any session of this process.</summary>
        public (long UidValidity, long Uid) RecentClaim;
        public readonly Lock RecentLock = new();

        /// <summary>The claim being made now, which sessions woken by the same message wait for instead of making their own.</summary>
        public (long UidValidity, long UpTo, Task<long> Previous)? ClaimInFlight;

        public long Signal()
        {
            var version = Interlocked.Increment(ref Version);
            Reads.Clear();
            UidLists.Clear();
            var old = Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            old.TrySetResult();
            return version;
        }
    }

    /// <summary>One session's interest in a folder; dispose when the session leaves the folder.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly FolderWatcher _owner;
        private readonly Entry _entry;
        private bool _idling, _disposed;

        internal Subscription(FolderWatcher owner, Entry entry) => (_owner, _entry) = (owner, entry);

        /// <summary>Grows on every announced or polled change.</summary>
        public long Version => Interlocked.Read(ref _entry.Version);

        /// <summary>Completes at the next change.</summary>
        public Task Changed => _entry.Changed;

        /// <summary>Remembers where the messages' raw bytes are (from a folder snapshot or a change query).</summary>
        public void RememberBlobs(IEnumerable<MailboxMessage> messages)
        {
            foreach (var m in messages)
            {
                if (m.Blob.Length > 0)
                    _entry.Blobs[m.Uid] = m.Blob;
            }
        }

        public string? BlobOf(long uid) => _entry.Blobs.TryGetValue(uid, out var blob) ? blob : null;

        /// <summary>
        /// The \Recent claim before this session's: the messages after it are recent here. A claim this process
        /// already knows covers <paramref name="upToUid"/> costs no request (1,000 sessions woken by one message make one
        /// claim between them, not 1,000); otherwise the store claims (or, for a read-only session, only reads).
        /// </summary>
        public async Task<long> ClaimRecentAsync(IMailboxStore store, long uidValidity, long upToUid, bool readOnly, CancellationToken ct)
        {
            Task<long> mine;
            lock (_entry.RecentLock)
            {
                if (_entry.RecentClaim.UidValidity == uidValidity && _entry.RecentClaim.Uid >= upToUid)
                    return _entry.RecentClaim.Uid;
                if (_entry.ClaimInFlight is { } running && running.UidValidity == uidValidity && running.UpTo >= upToUid)
                {
                    // Another session of this process is claiming these messages: they are its, not ours.
                    mine = running.Previous.ContinueWith(_ => running.UpTo, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
                else if (readOnly)
                {
                    mine = store.GetRecentClaimAsync(_entry.User, _entry.Folder, uidValidity, ct);
                }
                else
                {
                    mine = store.ClaimRecentAsync(_entry.User, _entry.Folder, uidValidity, upToUid, CancellationToken.None);
                    _entry.ClaimInFlight = (uidValidity, upToUid, mine);
                }
            }
            try
            {
                var previous = await mine.WaitAsync(ct).ConfigureAwait(false);
                var now = readOnly ? previous : Math.Max(previous, upToUid);
                lock (_entry.RecentLock)
                {
                    if (_entry.RecentClaim.UidValidity != uidValidity || _entry.RecentClaim.Uid < now)
                        _entry.RecentClaim = (uidValidity, now);
                    _owner.RememberClaim(_entry);
                }
                return previous;
            }
            finally
            {
                lock (_entry.RecentLock)
                {
                    if (_entry.ClaimInFlight is { } f && f.Previous == mine)
                        _entry.ClaimInFlight = null;
                }
            }
        }

        internal long Signal() => _entry.Signal();

        /// <summary>While true, the folder is polled for changes made elsewhere.</summary>
        public bool Idling
        {
            get => _idling;
            set
            {
                if (value == _idling)
                    return;
                _idling = value;
                if (value)
                    Interlocked.Increment(ref _entry.Idlers);
                else
                    Interlocked.Decrement(ref _entry.Idlers);
            }
        }

        /// <summary>
        /// The folder's state and its messages changed after <paramref name="since"/>. Sessions asking for the same
        /// thing at the same change version share one read; <paramref name="fresh"/> (NOOP) always reads.
        /// </summary>
        public async Task<FolderChanges> ReadChangesAsync(long since, bool fresh, CancellationToken ct)
        {
            if (fresh)
                return await _owner.ReadAsync(_entry, since, ct).ConfigureAwait(false);
            var key = (Version, since);
            var task = _entry.Reads.GetOrAdd(key, _ => _owner.ReadAsync(_entry, since, _owner._stop.Token));
            try
            {
                return await task.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (Exception) when (task.IsFaulted || task.IsCanceled)
            {
                // A failed read is not shared: the next session to ask reads again.
                _entry.Reads.TryRemove(new KeyValuePair<(long, long), Task<FolderChanges>>(key, task));
                throw;
            }
        }

        /// <summary>The UIDs the folder holds (to find expunges), shared per change version like <see cref="ReadChangesAsync"/>.</summary>
        public async Task<HashSet<long>> ListUidsAsync(CancellationToken ct)
        {
            var version = Version;
            var task = _entry.UidLists.GetOrAdd(version, _ => _owner._store.ListUidsAsync(_entry.User, _entry.Folder, _owner._stop.Token));
            try
            {
                return await task.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (Exception) when (task.IsFaulted || task.IsCanceled)
            {
                _entry.UidLists.TryRemove(new KeyValuePair<long, Task<HashSet<long>>>(version, task));
                throw;
            }
        }

        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            Idling = false;
            _owner.Release(_entry);
        }
    }
}
