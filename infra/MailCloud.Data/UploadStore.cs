using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>An attachment uploaded for a message being written.</summary>
public sealed record UploadInfo(string Id, string FileName, string ContentType, long Size);

/// <summary>
/// Attachments uploaded in chunks (one staged block per chunk, committed when the last arrives) under the user's
/// own prefix of the uploads container, so any front-end replica can take any chunk and a user can only name their
/// own uploads. Sending or saving the draft reads them into the message; housekeeping removes what is a day old.
/// </summary>
public sealed class UploadStore(StorageAccount account)
{
    public const int ChunkSize = 1024 * 1024;
    private readonly BlobContainerClient _container = account.Blobs.GetBlobContainerClient(StorageNames.UploadsContainer);

    public static string NewId()
    {
        Span<byte> b = stackalloc byte[16];
        RandomNumberGenerator.Fill(b);
        return Convert.ToHexStringLower(b);
    }

    public static bool IsId(string? id) => id is { Length: 32 } && id.All(char.IsAsciiHexDigitLower);

    private BlockBlobClient Blob(MailAddress user, string id) => _container.GetBlockBlobClient($"{Owner(user)}/{id}");

    /// <summary>A fixed-length name for the user's prefix (addresses may hold characters blob names should not).</summary>
    private static string Owner(MailAddress user) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user.Address)))[..32];

    private static string BlockId(int index) => Convert.ToBase64String(Encoding.ASCII.GetBytes(index.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)));

    public async Task StageAsync(MailAddress user, string id, int index, Stream chunk, CancellationToken cancellationToken = default) =>
        await Blob(user, id).StageBlockAsync(BlockId(index), chunk, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>Commits chunks 0..count-1; throws <see cref="InvalidDataException"/> when the result is larger than <paramref name="maxSize"/>.</summary>
    public async Task<UploadInfo> CompleteAsync(MailAddress user, string id, int count, string fileName, string contentType, long maxSize, CancellationToken cancellationToken = default)
    {
        var blob = Blob(user, id);
        var metadata = new Dictionary<string, string>
        {
            ["name"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(fileName)),
            ["type"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(contentType)),
        };
        await blob.CommitBlockListAsync(Enumerable.Range(0, count).Select(BlockId), new CommitBlockListOptions { Metadata = metadata }, cancellationToken).ConfigureAwait(false);
        var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        if (properties.ContentLength > maxSize)
        {
            await blob.DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            throw new InvalidDataException($"the attachment is larger than the message size limit ({maxSize} bytes)");
        }
        return new UploadInfo(id, fileName, contentType, properties.ContentLength);
    }

    /// <summary>The upload's details and bytes; null when it is not this user's or is gone.</summary>
    public async Task<(UploadInfo Info, byte[] Content)?> ReadAsync(MailAddress user, string id, CancellationToken cancellationToken = default)
    {
        if (!IsId(id))
            return null;
        try
        {
            var result = (await Blob(user, id).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value;
            string Meta(string key) => result.Details.Metadata.TryGetValue(key, out var v) ? Encoding.UTF8.GetString(Convert.FromBase64String(v)) : string.Empty;
            var bytes = result.Content.ToArray();
            return (new UploadInfo(id, Meta("name"), Meta("type"), bytes.Length), bytes);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task DeleteAsync(MailAddress user, string id, CancellationToken cancellationToken = default)
    {
        if (IsId(id))
            await Blob(user, id).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes uploads last changed before <paramref name="before"/> (abandoned compositions); returns how many.</summary>
    public async Task<int> SweepAsync(DateTimeOffset before, CancellationToken cancellationToken = default)
    {
        int deleted = 0;
        await foreach (var item in _container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (item.Properties.LastModified is { } modified && modified < before)
            {
                await _container.GetBlobClient(item.Name).DeleteIfExistsAsync(conditions: new BlobRequestConditions { IfMatch = item.Properties.ETag }, cancellationToken: cancellationToken).ConfigureAwait(false);
                deleted++;
            }
        }
        return deleted;
    }
}
