using MailCloud.Data;

namespace MailCloud.UnitTests;

/// <summary>
/// The cache's own rules, over an in-memory store that counts reads (the real blob store is exercised in
/// BodyCacheTests on Azurite; here the point is the budget, the eviction order and which reads fill it).
/// </summary>
public sealed class CachedMessageContentTests
{
    private sealed class CountingStore : IMessageContent
    {
        public Dictionary<string, byte[]> Blobs { get; } = [];
        public int Reads { get; private set; }

        public async Task<Stream> OpenReadAsync(string blob, long offset = 0, long? length = null, CancellationToken cancellationToken = default) =>
            (await OpenRangeAsync(blob, offset, length, cancellationToken)).Content;

        public Task<(Stream Content, long? BlobLength)> OpenRangeAsync(string blob, long offset, long? length, CancellationToken cancellationToken = default)
        {
            Reads++;
            var b = Blobs[blob];
            int count = (int)Math.Min(length ?? long.MaxValue, b.Length - offset);
            return Task.FromResult<(Stream, long?)>((new MemoryStream(b, (int)offset, count, writable: false), b.Length));
        }

        public Task<byte[]> ReadAllAsync(string blob, CancellationToken cancellationToken = default)
        {
            Reads++;
            return Task.FromResult(Blobs[blob].ToArray());
        }

        public Task WriteAsync(string blob, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
        {
            if (!Blobs.TryAdd(blob, content.ToArray()))
                throw new InvalidOperationException("exists");
            return Task.CompletedTask;
        }
    }

    private static byte[] Message(int size, byte fill) => Enumerable.Repeat(fill, size).ToArray();

    private static async Task<byte[]> ReadAsync(CachedMessageContent content, string blob, long offset = 0, long? length = null)
    {
        await using var s = await content.OpenReadAsync(blob, offset, length);
        var copy = new MemoryStream();
        await s.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task Whole_reads_and_writes_fill_it_ranges_do_not_and_the_least_recently_used_go_first()
    {
        var store = new CountingStore();
        var cache = new CachedMessageContent(store, budgetBytes: 300, maxMessageBytes: 150);
        for (int i = 0; i < 4; i++)
            store.Blobs["m" + i] = Message(100, (byte)('a' + i));
        store.Blobs["big"] = Message(200, (byte)'z');

        // A range of a message not held: read from the store, nothing kept.
        Assert.Equal(Message(10, (byte)'a'), await ReadAsync(cache, "m0", 5, 10));
        Assert.Equal(Message(10, (byte)'a'), await ReadAsync(cache, "m0", 5, 10));
        Assert.Equal(2, store.Reads);

        // Read whole (from offset 0, to the end or with the exact length): kept, and every range after is in memory.
        Assert.Equal(store.Blobs["m0"], await ReadAsync(cache, "m0"));
        Assert.Equal(store.Blobs["m1"], await ReadAsync(cache, "m1", 0, 100));
        Assert.Equal(4, store.Reads);
        Assert.Equal(Message(7, (byte)'b'), await ReadAsync(cache, "m1", 93, 50)); // clipped at the end, as the store would
        Assert.Equal(store.Blobs["m0"], await cache.ReadAllAsync("m0"));
        Assert.Equal(4, store.Reads);
        Assert.Equal(200, cache.Bytes);

        // Larger than a cached message may be: never kept.
        await ReadAsync(cache, "big");
        await ReadAsync(cache, "big");
        Assert.Equal(6, store.Reads);

        // A write is kept once the store has it; the budget (300) then pushes out the least recently used (m1: m0 was read since).
        await ReadAsync(cache, "m0");
        await cache.WriteAsync("new", Message(100, (byte)'n'));
        await cache.WriteAsync("new2", Message(100, (byte)'o'));
        Assert.Equal(300, cache.Bytes);
        int reads = store.Reads;
        Assert.Equal(store.Blobs["new2"], await ReadAsync(cache, "new2"));
        Assert.Equal(store.Blobs["m0"], await ReadAsync(cache, "m0"));
        Assert.Equal(reads, store.Reads);
        Assert.Equal(store.Blobs["m1"], await ReadAsync(cache, "m1"));
        Assert.Equal(reads + 1, store.Reads);

        // A copy handed out can be changed without touching the cached bytes.
        var copy = await cache.ReadAllAsync("m0");
        copy[0] = (byte)'!';
        Assert.Equal(store.Blobs["m0"], await cache.ReadAllAsync("m0"));

        // A failed write keeps nothing.
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.WriteAsync("m2", Message(10, (byte)'x')));
        Assert.Equal(store.Blobs["m2"], await ReadAsync(cache, "m2"));
    }

    [Fact]
    public async Task A_read_given_up_before_the_end_keeps_nothing()
    {
        var store = new CountingStore();
        store.Blobs["m"] = Message(100, (byte)'a');
        var cache = new CachedMessageContent(store, budgetBytes: 1000);
        await using (var s = await cache.OpenReadAsync("m"))
            await s.ReadExactlyAsync(new byte[40]);
        Assert.Equal(0, cache.Bytes);
        Assert.Equal(store.Blobs["m"], await ReadAsync(cache, "m"));
        Assert.Equal(100, cache.Bytes);
    }
}
