namespace MailCloud.Data;

/// <summary>
/// A per-host cache of small raw messages in front of <see cref="IMessageContent"/>, bounded in bytes and least
/// recently used out. A message blob is written once and never changed (names are unique, writes refuse to
/// overwrite), so a copy in memory can never be stale. What comes in: a message this host wrote (APPEND, a webmail
/// save) and one it read whole (FETCH BODY[], RETR); what it saves: the blob GET of every later read of that message
/// — the part fetches after a BODYSTRUCTURE, a client fetching a message again, TOP after RETR.
/// </summary>
/// <remarks>
/// A read of only a range of a message not in memory goes to storage as before (one ranged GET) and fills nothing: the
/// cache never reads more than was asked. A deleted message may stay in memory until it is pushed out; it is only
/// reachable through a mailbox row that names its blob, so a session that still lists it reads what the blob held.
/// </remarks>
public sealed class CachedMessageContent(IMessageContent inner, long budgetBytes, int maxMessageBytes = CachedMessageContent.DefaultMaxMessage) : IMessageContent
{
    /// <summary>Default memory for the cache (MAILCLOUD_IMAP_BODY_CACHE).</summary>
    public const long DefaultBudget = 32L << 20;

    /// <summary>Messages larger than this are never kept (a few large attachments would push out thousands of messages).</summary>
    public const int DefaultMaxMessage = 256 * 1024;

    private readonly int _maxMessage = (int)Math.Min(maxMessageBytes, budgetBytes);
    private readonly object _gate = new();
    private readonly Dictionary<string, LinkedListNode<(string Blob, byte[] Bytes)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Blob, byte[] Bytes)> _recent = new(); // most recently used first
    private long _bytes, _hits, _misses;

    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Bytes of messages held now (at most the budget).</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
                return _bytes;
        }
    }

    public async Task<Stream> OpenReadAsync(string blob, long offset = 0, long? length = null, CancellationToken cancellationToken = default) =>
        (await OpenRangeAsync(blob, offset, length, cancellationToken).ConfigureAwait(false)).Content;

    public async Task<(Stream Content, long? BlobLength)> OpenRangeAsync(string blob, long offset, long? length, CancellationToken cancellationToken = default)
    {
        if (Get(blob) is { } bytes)
        {
            long start = Math.Min(offset, bytes.Length);
            long count = Math.Min(length ?? long.MaxValue, bytes.Length - start);
            return (new MemoryStream(bytes, (int)start, (int)count, writable: false), bytes.Length);
        }
        Interlocked.Increment(ref _misses);
        var (content, total) = await inner.OpenRangeAsync(blob, offset, length, cancellationToken).ConfigureAwait(false);
        // A read from the start of all of a small message: keep what passes through once it has been read to the end.
        if (offset == 0 && total is { } whole && whole <= _maxMessage && (length is null || length >= whole))
            return (new FillingStream(content, (int)whole, read => Add(blob, read)), total);
        return (content, total);
    }

    public async Task<byte[]> ReadAllAsync(string blob, CancellationToken cancellationToken = default)
    {
        if (Get(blob) is { } bytes)
            return bytes.ToArray(); // the caller may change its copy; the cached one is shared
        Interlocked.Increment(ref _misses);
        var read = await inner.ReadAllAsync(blob, cancellationToken).ConfigureAwait(false);
        if (read.Length <= _maxMessage)
            Add(blob, read.ToArray());
        return read;
    }

    public async Task WriteAsync(string blob, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(blob, content, cancellationToken).ConfigureAwait(false);
        if (content.Length <= _maxMessage)
            Add(blob, content.ToArray()); // only once it is stored: what is in memory is always what storage holds
    }

    private byte[]? Get(string blob)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(blob, out var node))
                return null;
            _recent.Remove(node);
            _recent.AddFirst(node);
            _hits++;
            return node.Value.Bytes;
        }
    }

    private void Add(string blob, byte[] bytes)
    {
        if (bytes.Length > _maxMessage)
            return;
        lock (_gate)
        {
            if (_entries.ContainsKey(blob))
                return;
            _entries[blob] = _recent.AddFirst((blob, bytes));
            _bytes += bytes.Length;
            while (_bytes > budgetBytes && _recent.Last is { } oldest)
            {
                _recent.RemoveLast();
                _entries.Remove(oldest.Value.Blob);
                _bytes -= oldest.Value.Bytes.Length;
            }
        }
    }

    /// <summary>Passes a download through and hands its bytes to the cache once the whole message went by.</summary>
    private sealed class FillingStream(Stream inner, int expected, Action<byte[]> filled) : ReadThroughStream(inner, ownsInner: true)
    {
        private readonly MemoryStream _copy = new(expected);
        private bool _done;

        protected override void Took(ReadOnlySpan<byte> read)
        {
            if (_done || read.Length == 0)
                return;
            _copy.Write(read);
            if (_copy.Length >= expected)
            {
                // Readers of a literal stop at its length without asking for the end, so the whole is known here.
                _done = true;
                if (_copy.Length == expected)
                    filled(_copy.ToArray());
            }
        }
    }
}
