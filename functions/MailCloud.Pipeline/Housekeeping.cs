using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Pipeline;

public sealed record HousekeepingResult(int MessagesDeleted, int MessagesKept, int EnvelopesDeleted);

/// <summary>
/// Timer stage: deletes raw messages that no mailbox entry references any more (and that are older than
/// <paramref name="orphanAge"/>, so mail still waiting in a queue is never touched), and expired envelope blobs.
/// </summary>
public sealed class Housekeeping(StorageAccount account, TimeSpan orphanAge, ILogger logger, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<HousekeepingResult> RunAsync(CancellationToken cancellationToken)
    {
        var cutoff = _time.GetUtcNow() - orphanAge;
        var refs = account.Tables.GetTableClient(StorageNames.BlobRefsTable);
        var messages = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        int deleted = 0, kept = 0, envelopes = 0;
        await foreach (var blob in messages.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (blob.Properties.LastModified > cutoff)
                continue;
            var page = await refs.QueryPageAsync(TableFilter.PartitionKey(TableKeys.Escape(blob.Name)), ["RowKey"], top: 1, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (page.Items.Count > 0)
            {
                kept++;
                continue;
            }
            // Conditional: if the blob changed since we listed it, it is not the orphan we judged.
            try
            {
                await messages.GetBlobClient(blob.Name).DeleteAsync(new BlobRequestConditions(IfMatch: blob.Properties.ETag), cancellationToken).ConfigureAwait(false);
                deleted++;
            }
            catch (Azure.RequestFailedException e) when (e.Status is 404 or 412)
            {
            }
        }
        var envelopeContainer = account.Blobs.GetBlobContainerClient(StorageNames.EnvelopesContainer);
        await foreach (var blob in envelopeContainer.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (blob.Properties.LastModified <= cutoff && await envelopeContainer.GetBlobClient(blob.Name).DeleteIfExistsAsync(cancellationToken).ConfigureAwait(false))
                envelopes++;
        }
        logger.LogInformation("housekeeping: deleted {Deleted} unreferenced message(s), kept {Kept}, removed {Envelopes} expired envelope(s)", deleted, kept, envelopes);
        return new HousekeepingResult(deleted, kept, envelopes);
    }
}
