using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>
/// A folder's message list (and the summaries a host held of it) as it was at one HIGHESTMODSEQ: everything a
/// session's SELECT needs, so a host that has not got the folder in memory (started, scaled out, evicted it) opens
/// it with one blob read and a catch-up from <see cref="HighestModSeq"/>, instead of reading every message row.
/// </summary>
public sealed record StoredFolderIndex(long UidValidity, long HighestModSeq, long UidNext, IReadOnlyList<MailboxMessage> Messages, IReadOnlyList<MessageDetails> Summaries)
{
    /// <summary>An index read back: its summaries, not yet inflated (<see cref="Summaries"/> is then empty).</summary>
    public PackedSummaries? Packed { get; init; }
}

/// <summary>Where hosts keep <see cref="StoredFolderIndex"/>es. A cache of the table: losing one only costs a slower open.</summary>
public interface IFolderIndexSnapshots
{
    /// <summary>The stored index of that folder incarnation, or null (none, unreadable, or storage failed).</summary>
    Task<StoredFolderIndex?> ReadAsync(MailAddress user, string folder, long uidValidity, CancellationToken cancellationToken = default);

    Task WriteAsync(MailAddress user, string folder, StoredFolderIndex index, CancellationToken cancellationToken = default);

    /// <summary>Removes what is stored for the folder under that UIDVALIDITY (the folder was deleted).</summary>
    Task DeleteAsync(MailAddress user, string folder, long uidValidity, CancellationToken cancellationToken = default);
}

/// <summary>
/// Folder indexes as blobs in <see cref="StorageNames.FolderIndexContainer"/>, one per user, folder and UIDVALIDITY
/// (<c>user/sha256(folder)-uidvalidity.idx</c>): a folder deleted and created again has a new UIDVALIDITY, so its
/// old index is never taken for the new one. Written whole and overwritten (last writer wins: every writer writes
/// a consistent index). Gzip-compressed: a 10,000-message index with summaries is about 1 MiB on the wire.
/// </summary>
public sealed class BlobFolderIndexSnapshots(BlobContainerClient container) : IFolderIndexSnapshots
{
    public BlobFolderIndexSnapshots(StorageAccount account) : this(account.Blobs.GetBlobContainerClient(StorageNames.FolderIndexContainer))
    {
    }

    public static string BlobName(MailAddress user, string folder, long uidValidity) =>
        $"{user.Address.ToLowerInvariant()}/{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(folder)))[..32]}-{uidValidity}.idx";

    public async Task<StoredFolderIndex?> ReadAsync(MailAddress user, string folder, long uidValidity, CancellationToken cancellationToken = default)
    {
        BinaryData content;
        try
        {
            content = (await container.GetBlobClient(BlobName(user, folder, uidValidity)).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content;
        }
        catch (RequestFailedException)
        {
            return null; // none yet (404), or storage failed: the caller reads the table, which says what is wrong if anything is
        }
        return FolderIndexFormat.TryRead(content.ToMemory().Span, out var index) && index.UidValidity == uidValidity ? index : null;
    }

    public async Task WriteAsync(MailAddress user, string folder, StoredFolderIndex index, CancellationToken cancellationToken = default) =>
        await container.GetBlobClient(BlobName(user, folder, index.UidValidity)).UploadAsync(new BinaryData(FolderIndexFormat.Write(index)),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" } }, cancellationToken).ConfigureAwait(false);

    public async Task DeleteAsync(MailAddress user, string folder, long uidValidity, CancellationToken cancellationToken = default) =>
        await container.GetBlobClient(BlobName(user, folder, uidValidity)).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>Removes every stored index (a restore replaced the tables they were taken from).</summary>
    public async Task ClearAsync(CancellationToken cancellationToken = default)
    {
        if (!await container.ExistsAsync(cancellationToken).ConfigureAwait(false))
            return;
        await foreach (var blob in container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            await container.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
