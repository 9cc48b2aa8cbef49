using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Pipeline;

public sealed record HousekeepingResult(int MessagesDeleted, int MessagesKept, int EnvelopesDeleted)
{
    public int QuarantineExpired { get; init; }
    public int UploadsDeleted { get; init; }
    public int TraceRowsDeleted { get; init; }
}

/// <summary>
/// Timer stage: deletes raw messages that no mailbox entry references any more (and that are older than
/// <paramref name="orphanAge"/>, so mail still waiting in a queue is never touched), expired envelope blobs, and
/// quarantine entries older than <paramref name="quarantineRetention"/> (first, so their messages become orphans),
/// and message traces older than <paramref name="traceRetention"/>.
/// </summary>
public sealed class Housekeeping(StorageAccount account, TimeSpan orphanAge, ILogger logger, TimeProvider? time = null, TimeSpan? quarantineRetention = null, TimeSpan? traceRetention = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<HousekeepingResult> RunAsync(CancellationToken cancellationToken)
    {
        var quarantine = new QuarantineStore(account);
        var expiry = _time.GetUtcNow() - (quarantineRetention ?? TimeSpan.FromDays(30));
        int expired = 0;
        await foreach (var entry in quarantine.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (entry.Quarantined < expiry && await quarantine.DeleteAsync(entry, cancellationToken).ConfigureAwait(false))
                expired++;
        }
        var cutoff = _time.GetUtcNow() - orphanAge;
        var spool = new SpoolMaintenance(account);
        int deleted = 0, kept = 0, envelopes = 0;
        await foreach (var blob in spool.ListMessagesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (blob.LastModified > cutoff)
                continue;
            if (await spool.IsReferencedAsync(blob.Name, cancellationToken).ConfigureAwait(false))
                kept++;
            else if (await spool.DeleteMessageAsync(blob, cancellationToken).ConfigureAwait(false)) // conditional: a changed blob is not the orphan we judged
                deleted++;
        }
        await foreach (var blob in spool.ListEnvelopesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (blob.LastModified <= cutoff && await spool.DeleteEnvelopeAsync(blob, cancellationToken).ConfigureAwait(false))
                envelopes++;
        }
        // Webmail attachments whose message was never sent or saved: a day is far longer than any composition.
        var uploads = await new UploadStore(account).SweepAsync(_time.GetUtcNow() - TimeSpan.FromDays(1), cancellationToken).ConfigureAwait(false);
        var traces = await new MessageTraceStore(account).ExpireAsync(_time.GetUtcNow() - (traceRetention ?? TimeSpan.FromDays(30)), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("housekeeping: deleted {Deleted} unreferenced message(s), kept {Kept}, removed {Envelopes} expired envelope(s), {Expired} quarantine entr(ies), {Uploads} abandoned upload(s), {Traces} trace row(s)",
            deleted, kept, envelopes, expired, uploads, traces);
        return new HousekeepingResult(deleted, kept, envelopes) { QuarantineExpired = expired, UploadsDeleted = uploads, TraceRowsDeleted = traces };
    }
}
