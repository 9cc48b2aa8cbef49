using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>Where an accepted message goes before the SMTP front end may say "250".</summary>
public interface IMessageSpool
{
    /// <summary>
    /// Stores the raw message (streamed, never buffered whole) and enqueues its work item. Returns only when both are
    /// durable; throws when either failed, leaving nothing the pipeline would process.
    /// </summary>
    Task<InboundWorkItem> StoreAsync(string messageId, Envelope envelope, Stream content, CancellationToken cancellationToken);
}

/// <summary>
/// Blob + queue spool: a typical message costs two storage requests (Put Blob, Put Message). Envelopes too large to
/// travel inline in the queue message (thousands of recipients) go to the envelopes container first.
/// </summary>
public sealed class StorageMessageSpool(StorageAccount account) : IMessageSpool
{
    /// <summary>Inline envelopes up to this size; base64 and JSON framing must stay under the queue's 64 KiB.</summary>
    internal const int MaxInlineEnvelopeBytes = 40 * 1024;

    /// <summary>
    /// Messages up to this size travel in the work item as well (base64 in the JSON, then the queue's base64: about
    /// 1.8 bytes per byte), so the inbound stage skips its Get Blob; the item must still fit <see cref="MaxWorkItemJson"/>.
    /// </summary>
    public const int MaxInlineContentBytes = 24 * 1024;

    /// <summary>The queue takes 64 KiB after its base64 encoding: 48 KiB of JSON, less a margin for the retry fields.</summary>
    public const int MaxWorkItemJson = 46 * 1024;

    private readonly BlobContainerClient _messages = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
    private readonly BlobContainerClient _envelopes = account.Blobs.GetBlobContainerClient(StorageNames.EnvelopesContainer);
    private readonly QueueClient _inbound = account.Queues.GetQueueClient(StorageNames.InboundQueue);

    public async Task<InboundWorkItem> StoreAsync(string messageId, Envelope envelope, Stream content, CancellationToken cancellationToken)
    {
        var blobName = MessageIds.BlobPath(messageId, envelope.ReceivedAt);
        var blob = _messages.GetBlobClient(blobName);
        long size;
        byte[]? inline = null;
        using (var upload = await BufferedUpload.PrepareAsync(content, account.Options.SingleUploadThreshold, cancellationToken).ConfigureAwait(false))
        {
            if (upload.TryGetWhole(out var whole) && whole.Length <= MaxInlineContentBytes)
                inline = whole.ToArray(); // copied: the buffer goes back to the pool
            await blob.UploadAsync(upload.Content, new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "message/rfc822" },
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All }, // ids are unique; never overwrite a stored message
                TransferOptions = account.TransferOptions,
            }, cancellationToken).ConfigureAwait(false);
            size = upload.Size;
        }

        return await EnqueueAsync(messageId, blob, size, envelope, inline, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="StoreAsync"/> for a message whose id is derived from what caused it (a bounce): when an earlier
    /// attempt stored the blob and died before its work item was enqueued, the blob is found (409) and the work item
    /// is sent again. That may make a twin item, never a lost one; the stages after this de-duplicate by message id.
    /// </summary>
    public async Task<InboundWorkItem> StoreOnceAsync(string messageId, Envelope envelope, Stream content, CancellationToken cancellationToken)
    {
        try
        {
            return await StoreAsync(messageId, envelope, content, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            var blob = _messages.GetBlobClient(MessageIds.BlobPath(messageId, envelope.ReceivedAt));
            var properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return await EnqueueAsync(messageId, blob, properties.Value.ContentLength, envelope, null, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<InboundWorkItem> EnqueueAsync(string messageId, BlobClient blob, long size, Envelope envelope, byte[]? inline, CancellationToken cancellationToken)
    {
        var blobName = blob.Name;
        BlobClient? envelopeBlob = null;
        try
        {
            var envelopeJson = JsonSerializer.SerializeToUtf8Bytes(envelope, WorkItemJson.Options);
            InboundWorkItem item;
            if (envelopeJson.Length <= MaxInlineEnvelopeBytes)
            {
                item = new InboundWorkItem { MessageId = messageId, MessageBlob = blobName, Size = size, Envelope = envelope };
            }
            else
            {
                envelopeBlob = _envelopes.GetBlobClient(messageId + ".json");
                await envelopeBlob.UploadAsync(BinaryData.FromBytes(envelopeJson), new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" } }, cancellationToken).ConfigureAwait(false);
                item = new InboundWorkItem { MessageId = messageId, MessageBlob = blobName, Size = size, EnvelopeBlob = envelopeBlob.Name };
            }
            // With the message when it fits (the common case: serialized once), else without it.
            byte[]? json = inline is not null && item.Envelope is not null ? JsonSerializer.SerializeToUtf8Bytes(item with { Content = inline }, WorkItemJson.Options) : null;
            if (json is null || json.Length > MaxWorkItemJson)
                json = JsonSerializer.SerializeToUtf8Bytes(item, WorkItemJson.Options);
            await _inbound.SendMessageAsync(BinaryData.FromBytes(json), timeToLive: WorkQueues.NeverExpires, cancellationToken: cancellationToken).ConfigureAwait(false);
            return item;
        }
        catch
        {
            // Not enqueued: the client gets 4xx and will retry, so remove what we stored (best effort; housekeeping
            // removes anything left, since no work item points at it).
            await TryDeleteAsync(blob).ConfigureAwait(false);
            if (envelopeBlob is not null)
                await TryDeleteAsync(envelopeBlob).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task TryDeleteAsync(BlobClient blob)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await blob.DeleteIfExistsAsync(cancellationToken: cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RequestFailedException or OperationCanceledException or HttpRequestException)
        {
            // Storage is failing anyway; the orphan is harmless.
        }
    }

    /// <summary>Reads a work item back (for the pipeline and tests), fetching an out-of-line envelope.</summary>
    public async Task<(InboundWorkItem Item, Envelope Envelope)> ReadWorkItemAsync(BinaryData queueBody, CancellationToken cancellationToken = default)
    {
        var item = JsonSerializer.Deserialize<InboundWorkItem>(queueBody.ToMemory().Span, WorkItemJson.Options) ?? throw new InvalidDataException("empty work item");
        if (item.Envelope is { } inline)
            return (item, inline);
        if (item.EnvelopeBlob is null)
            throw new InvalidDataException($"work item {item.MessageId} has no envelope");
        var json = (await _envelopes.GetBlobClient(item.EnvelopeBlob).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content;
        return (item, JsonSerializer.Deserialize<Envelope>(json.ToMemory().Span, WorkItemJson.Options) ?? throw new InvalidDataException("empty envelope"));
    }
}
