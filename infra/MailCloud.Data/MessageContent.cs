using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>
/// The raw messages (the source of truth): read whole, read a byte range, store a new one. Protocol sessions and
/// pipeline stages see only this; the blob container behind it stays in the data layer.
/// </summary>
public interface IMessageContent
{
    /// <summary>A forward-only stream of the whole message (or of <paramref name="length"/> bytes from <paramref name="offset"/>).</summary>
    Task<Stream> OpenReadAsync(string blob, long offset = 0, long? length = null, CancellationToken cancellationToken = default);

    Task<byte[]> ReadAllAsync(string blob, CancellationToken cancellationToken = default);

    /// <summary>Stores a new message under <paramref name="blob"/>; never overwrites one (ids are unique).</summary>
    Task WriteAsync(string blob, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default);
}

/// <summary>The messages container of Blob storage.</summary>
public sealed class BlobMessageContent(BlobContainerClient container) : IMessageContent
{
    public BlobMessageContent(StorageAccount account) : this(account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer))
    {
    }

    public async Task<Stream> OpenReadAsync(string blob, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        var options = offset == 0 && length is null ? null : new BlobDownloadOptions { Range = new HttpRange(offset, length) };
        var response = await container.GetBlobClient(blob).DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false);
        return response.Value.Content;
    }

    public async Task<byte[]> ReadAllAsync(string blob, CancellationToken cancellationToken = default)
    {
        var response = await container.GetBlobClient(blob).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
        return response.Value.Content.ToArray();
    }

    public async Task WriteAsync(string blob, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) =>
        await container.GetBlobClient(blob).UploadAsync(BinaryData.FromBytes(content), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "message/rfc822" },
            Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
        }, cancellationToken).ConfigureAwait(false);
}

/// <summary>
/// Reading a delivered copy: its prefix (the header lines the delivery added, see <see cref="MessageDetails.Prefix"/>)
/// followed by the blob, with offsets over the whole. The blob itself is never rewritten.
/// </summary>
public static class PrefixedContent
{
    public static async Task<Stream> OpenReadAsync(this IMessageContent content, string blob, byte[]? prefix, long offset, long? length, CancellationToken cancellationToken = default)
    {
        if (prefix is not { Length: > 0 })
            return await content.OpenReadAsync(blob, offset, length, cancellationToken).ConfigureAwait(false);
        long end = length is { } l ? offset + l : long.MaxValue;
        var head = offset < prefix.Length ? new MemoryStream(prefix, (int)offset, (int)(Math.Min(end, prefix.Length) - offset), writable: false) : null;
        if (end <= prefix.Length)
            return head ?? new MemoryStream([], writable: false);
        long blobOffset = Math.Max(0, offset - prefix.Length);
        long? blobLength = length is null ? null : end - prefix.Length - blobOffset;
        var tail = await content.OpenReadAsync(blob, blobOffset, blobLength, cancellationToken).ConfigureAwait(false);
        return head is null ? tail : new ConcatenatedStream(head, tail);
    }

    public static async Task<byte[]> ReadAllAsync(this IMessageContent content, string blob, byte[]? prefix, CancellationToken cancellationToken = default)
    {
        var bytes = await content.ReadAllAsync(blob, cancellationToken).ConfigureAwait(false);
        return prefix is { Length: > 0 } ? [.. prefix, .. bytes] : bytes;
    }

    /// <summary>Two read-only streams one after the other (the prefix in memory, then the blob download).</summary>
    private sealed class ConcatenatedStream(Stream first, Stream second) : Stream
    {
        private bool _onSecond;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (!_onSecond)
            {
                int n = first.Read(buffer);
                if (n > 0 || buffer.Length == 0)
                    return n;
                _onSecond = true;
            }
            return second.Read(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_onSecond)
            {
                int n = await first.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (n > 0 || buffer.Length == 0)
                    return n;
                _onSecond = true;
            }
            return await second.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                first.Dispose();
                second.Dispose();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await first.DisposeAsync().ConfigureAwait(false);
            await second.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}
