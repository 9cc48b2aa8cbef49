using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>A stored blob as housekeeping judges it.</summary>
public sealed record StoredBlob(string Name, DateTimeOffset LastModified, ETag ETag);

/// <summary>
/// What housekeeping needs of storage: the raw messages and envelope blobs with their age, whether any mailbox
/// entry still references a message (the blob-reference table), and deletes that only remove what was judged.
/// </summary>
public sealed class SpoolMaintenance(StorageAccount account)
{
    private readonly BlobContainerClient _messages = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
    private readonly BlobContainerClient _envelopes = account.Blobs.GetBlobContainerClient(StorageNames.EnvelopesContainer);
    private readonly TableClient _refs = account.Tables.GetTableClient(StorageNames.BlobRefsTable);

    public IAsyncEnumerable<StoredBlob> ListMessagesAsync(CancellationToken cancellationToken = default) => ListAsync(_messages, cancellationToken);

    public IAsyncEnumerable<StoredBlob> ListEnvelopesAsync(CancellationToken cancellationToken = default) => ListAsync(_envelopes, cancellationToken);

    /// <summary>True when a mailbox entry still points at the message (one request: the first row of its partition).</summary>
    public async Task<bool> IsReferencedAsync(string blob, CancellationToken cancellationToken = default) =>
        (await _refs.QueryFirstPageAsync(TableFilter.PartitionKey(TableKeys.Escape(blob)), ["RowKey"], 1, cancellationToken).ConfigureAwait(false)).Count > 0;

    /// <summary>Deletes the message only if it is unchanged since it was listed; false when it changed or is gone.</summary>
    /// <summary>
    /// The operator's delete of one message blob (queue delete --remove-message): only when no mailbox entry refers
    /// to it. Null when it is referenced (kept), false when it was already gone.
    /// </summary>
    public async Task<bool?> DeleteIfUnreferencedAsync(string blob, CancellationToken cancellationToken = default)
    {
        if (await IsReferencedAsync(blob, cancellationToken).ConfigureAwait(false))
            return null;
        return (await _messages.GetBlobClient(blob).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
    }

    public async Task<bool> DeleteMessageAsync(StoredBlob blob, CancellationToken cancellationToken = default)
    {
        try
        {
            await _messages.GetBlobClient(blob.Name).DeleteAsync(conditions: new BlobRequestConditions { IfMatch = blob.ETag }, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }

    public async Task<bool> DeleteEnvelopeAsync(StoredBlob blob, CancellationToken cancellationToken = default) =>
        (await _envelopes.GetBlobClient(blob.Name).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;

    private static async IAsyncEnumerable<StoredBlob> ListAsync(BlobContainerClient container, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            yield return new StoredBlob(item.Name, item.Properties.LastModified ?? DateTimeOffset.MinValue, item.Properties.ETag ?? default);
    }
}
