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

    /// <summary>
    /// As <see cref="OpenReadAsync"/>, with the whole blob's length when the store says it (a ranged read's
    /// Content-Range): a cache learns from it that a read from offset 0 was the whole message.
    /// </summary>
    async Task<(Stream Content, long? BlobLength)> OpenRangeAsync(string blob, long offset, long? length, CancellationToken cancellationToken = default) =>
        (await OpenReadAsync(blob, offset, length, cancellationToken).ConfigureAwait(false), null);

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

    public async Task<Stream> OpenReadAsync(string blob, long offset = 0, long? length = null, CancellationToken cancellationToken = default) =>
        (await OpenRangeAsync(blob, offset, length, cancellationToken).ConfigureAwait(false)).Content;

    public async Task<(Stream Content, long? BlobLength)> OpenRangeAsync(string blob, long offset, long? length, CancellationToken cancellationToken = default)
    {
        var options = offset == 0 && length is null ? null : new BlobDownloadOptions { Range = new HttpRange(offset, length) };
        var response = await container.GetBlobClient(blob).DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false);
        var details = response.Value.Details;
        // "bytes 0-99/1234" names the blob's length; a read of the whole blob has no range and its length is the content's.
        long? total = options is null ? details.ContentLength
            : details.ContentRange is { } range && range.LastIndexOf('/') is var slash and >= 0 && long.TryParse(range.AsSpan(slash + 1), out var n) ? n
            : null;
        return (response.Value.Content, total);
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
        var head = offset < prefix.Length ? prefix.AsMemory((int)offset, (int)(Math.Min(end, prefix.Length) - offset)) : ReadOnlyMemory<byte>.Empty;
        if (end <= prefix.Length)
            return new MemoryStream(head.ToArray(), writable: false);
        long blobOffset = Math.Max(0, offset - prefix.Length);
        long? blobLength = length is null ? null : end - prefix.Length - blobOffset;
        var tail = await content.OpenReadAsync(blob, blobOffset, blobLength, cancellationToken).ConfigureAwait(false);
        return head.IsEmpty ? tail : new PrefixedStream(head, tail, ownsRest: true);
    }

    public static async Task<byte[]> ReadAllAsync(this IMessageContent content, string blob, byte[]? prefix, CancellationToken cancellationToken = default)
    {
        var bytes = await content.ReadAllAsync(blob, cancellationToken).ConfigureAwait(false);
        return prefix is { Length: > 0 } ? [.. prefix, .. bytes] : bytes;
    }
}
