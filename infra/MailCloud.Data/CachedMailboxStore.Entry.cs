using System.Collections.Concurrent;

namespace MailCloud.Data;

public sealed partial class CachedMailboxStore
{
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

        /// <summary>Messages changed, added or removed in this entry since it was read or last written as an index.</summary>
        public int Unindexed;
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

        /// <summary>The cached summaries of listed messages, in UID order (what a stored index keeps).</summary>
        public List<MessageDetails> ListedSummaries()
        {
            lock (_gate)
                return [.. _messages.Keys.Select(uid => _summaries.GetValueOrDefault(uid)).OfType<MessageDetails>()];
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
                    Unindexed++;
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
                    {
                        _messages[c.Uid] = old with { Flags = c.Flags, ModSeq = c.ModSeq };
                        Unindexed++;
                    }
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
                    {
                        removed++;
                        Unindexed++;
                    }
                }
            }
            return removed;
        }

        private PackedSummaries? _packed;

        private readonly Lock _unpacking = new();

        /// <summary>Keeps a stored index's summaries compressed until they are first needed; returns the bytes they take meanwhile.</summary>
        public long Pack(PackedSummaries packed)
        {
            Volatile.Write(ref _packed, packed);
            return packed.Length;
        }

        /// <summary>
        /// Inflates the packed summaries, once (sessions asking meanwhile wait for it rather than read rows), keeping
        /// those of messages still listed; returns the change in bytes, null when there was nothing to inflate.
        /// </summary>
        public long? Unpack()
        {
            if (Volatile.Read(ref _packed) is null)
                return null;
            lock (_unpacking)
            {
                if (_packed is not { } packed)
                    return null;
                long bytes = -packed.Length;
                if (packed.TryRead(out var summaries))
                {
                    List<MessageDetails> listed;
                    lock (_gate)
                        listed = [.. summaries.Where(s => _messages.ContainsKey(s.Uid))];
                    bytes += Remember(MessageDetail.Summary, listed);
                }
                Volatile.Write(ref _packed, null);
                return bytes;
            }
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
