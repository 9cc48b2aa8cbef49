using System.Security.Cryptography;
using Azure;
using Azure.Core;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

[Collection(AzuriteCollection.Name)]
public sealed class BlobClientTests(AzuriteFixture azurite)
{
    private async Task<BlobContainerClient> NewContainerAsync(StorageAccount? account = null)
    {
        var container = (account ?? azurite.NewAccount()).Blobs.GetBlobContainerClient(AzuriteFixture.UniqueName("c"));
        Assert.True(await container.CreateIfNotExistsAsync());
        return container;
    }

    [Fact]
    public async Task Container_create_is_idempotent_and_exists_reports_state()
    {
        var container = await NewContainerAsync();
        Assert.False(await container.CreateIfNotExistsAsync());
        Assert.True(await container.ExistsAsync());
        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => container.CreateAsync());
        Assert.Equal(409, ex.Status);
        Assert.Equal("ContainerAlreadyExists", ex.ErrorCode);
        Assert.True(await container.DeleteIfExistsAsync());
        Assert.False(await container.ExistsAsync());
    }

    [Fact]
    public async Task Small_upload_round_trips_with_content_type_and_metadata()
    {
        var account = azurite.NewAccount();
        var container = await NewContainerAsync(account);
        var blob = container.GetBlobClient("messages/2026/11/24/a b+c.eml");
        var payload = "Subject: hi\r\n\r\nbody\r\n"u8.ToArray();
        account.RequestCounter.Reset();
        var info = await blob.UploadAsync(new MemoryStream(payload), new BlobUploadOptions
        {
            ContentType = "message/rfc822",
            Metadata = new Dictionary<string, string> { ["sender"] = "alice@example.test" },
        });
        Assert.Equal(1, account.RequestCounter.Get("blob", "PutBlob"));
        Assert.Equal(1, account.RequestCounter.Total);
        Assert.NotEqual(default, info.ETag);

        var props = await blob.GetPropertiesAsync();
        Assert.Equal(payload.Length, props.ContentLength);
        Assert.Equal("message/rfc822", props.ContentType);
        Assert.Equal("alice@example.test", props.Metadata["sender"]);
        Assert.Equal(info.ETag, props.ETag);

        var content = await blob.DownloadContentAsync();
        Assert.Equal(payload, content.ToArray());
    }

    [Fact]
    public async Task Range_download_streams_exact_bytes()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("range.bin");
        var payload = RandomNumberGenerator.GetBytes(100_000);
        await blob.UploadAsync(new MemoryStream(payload));

        await using var result = await blob.DownloadStreamingAsync(new HttpRange(1000, 5000));
        var ms = new MemoryStream();
        await result.Content.CopyToAsync(ms);
        Assert.Equal(payload.AsSpan(1000, 5000).ToArray(), ms.ToArray());
        Assert.Equal(1000, result.Offset);
        Assert.Equal(payload.Length, result.Properties.ContentLength);
    }

    [Fact]
    public async Task Large_upload_is_staged_in_blocks_with_bounded_memory_and_round_trips()
    {
        var options = new StorageClientOptions { BlockSize = 1024 * 1024, SingleUploadThreshold = 1024 * 1024 };
        var account = azurite.NewAccount(options);
        var container = await NewContainerAsync(account);
        var blob = container.GetBlobClient("big.bin");
        const long size = 20L * 1024 * 1024;
        account.RequestCounter.Reset();

        // Generated on the fly: the test never holds the 20 MiB either, so allocation figures are the client's.
        var source = new PatternStream(size);
        long before = GC.GetAllocatedBytesForCurrentThread();
        long totalBefore = GC.GetTotalAllocatedBytes(precise: true);
        var info = await blob.UploadAsync(source);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - totalBefore;
        _ = before;
        Assert.Equal(size, info.Size);
        Assert.Equal(20, account.RequestCounter.Get("blob", "PutBlock"));
        Assert.Equal(1, account.RequestCounter.Get("blob", "PutBlockList"));
        // The whole process allocates (other tests run in parallel), so this bound is loose: well under the blob size.
        Assert.True(allocated < size / 2, $"upload allocated {allocated} bytes for a {size} byte blob");

        await using var download = await blob.DownloadStreamingAsync();
        Assert.Equal(size, download.Properties.ContentLength);
        var check = new PatternStream(size);
        var buffer = new byte[81920];
        var expected = new byte[81920];
        long total = 0;
        int n;
        while ((n = await download.Content.ReadAsync(buffer)) > 0)
        {
            await check.ReadExactlyAsync(expected.AsMemory(0, n));
            Assert.True(buffer.AsSpan(0, n).SequenceEqual(expected.AsSpan(0, n)), $"mismatch near offset {total}");
            total += n;
        }
        Assert.Equal(size, total);
    }

    [Fact]
    public async Task Conditional_requests_enforce_etags()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("cond.txt");
        var first = await blob.UploadAsync(BinaryData.FromString("one"), new BlobUploadOptions { Conditions = BlobRequestConditions.IfNotExists });

        // Create-only must not overwrite.
        var exists = await Assert.ThrowsAsync<RequestFailedException>(() =>
            blob.UploadAsync(BinaryData.FromString("two"), new BlobUploadOptions { Conditions = BlobRequestConditions.IfNotExists }));
        Assert.True(exists.Status is 409 or 412);

        var second = await blob.UploadAsync(BinaryData.FromString("two"), new BlobUploadOptions { Conditions = new BlobRequestConditions(IfMatch: first.ETag) });
        await Assert.ThrowsAsync<PreconditionFailedException>(() => blob.SetMetadataAsync(new Dictionary<string, string> { ["k"] = "v" }, new BlobRequestConditions(IfMatch: first.ETag)));
        await blob.SetMetadataAsync(new Dictionary<string, string> { ["k"] = "v" }, new BlobRequestConditions(IfMatch: second.ETag));
        Assert.Equal("v", (await blob.GetPropertiesAsync()).Metadata["k"]);
        await Assert.ThrowsAsync<PreconditionFailedException>(() => blob.DeleteAsync(new BlobRequestConditions(IfMatch: first.ETag)));
        Assert.Equal("two", (await blob.DownloadContentAsync()).ToString());
    }

    [Fact]
    public async Task Missing_blob_is_404_with_service_error_code()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("nope");
        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => blob.DownloadContentAsync());
        Assert.Equal(404, ex.Status);
        Assert.Equal("BlobNotFound", ex.ErrorCode);
        Assert.False(await blob.ExistsAsync());
        Assert.False(await blob.DeleteIfExistsAsync());
    }

    [Fact]
    public async Task Listing_by_prefix_follows_continuation()
    {
        var container = await NewContainerAsync();
        for (int i = 0; i < 12; i++)
            await container.GetBlobClient($"a/{i:D2}").UploadAsync(BinaryData.FromString(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await container.GetBlobClient("b/other").UploadAsync(BinaryData.FromString("x"));

        var page = await container.GetBlobsPageAsync("a/", pageSize: 5);
        Assert.Equal(5, page.Items.Count);
        Assert.NotNull(page.ContinuationToken);

        var names = new List<string>();
        string? token = null;
        do
        {
            var p = await container.GetBlobsPageAsync("a/", token, 5);
            names.AddRange(p.Items.Select(i => i.Name));
            token = p.ContinuationToken;
        }
        while (token is not null);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"a/{i:D2}"), names);

        var all = new List<string>();
        await foreach (var item in container.GetBlobsAsync("a/"))
            all.Add(item.Name);
        Assert.Equal(12, all.Count);
    }

    /// <summary>A read-only stream of deterministic bytes of a given length, generated on the fly.</summary>
    private sealed class PatternStream(long length) : Stream
    {
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            int n = (int)Math.Min(buffer.Length, length - _position);
            for (int i = 0; i < n; i++)
                buffer[i] = (byte)((_position + i) * 31 % 251);
            _position += n;
            return n;
        }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
