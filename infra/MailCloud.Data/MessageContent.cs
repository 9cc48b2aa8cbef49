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
