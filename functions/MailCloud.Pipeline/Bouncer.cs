using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Mime;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Pipeline;

/// <summary>A recipient that could not be delivered, with what to tell the sender.</summary>
public sealed record BounceRecipient(EnvelopeRecipient Recipient, string Status, string Diagnostic, string? RemoteMta = null);

/// <summary>
/// Sends delivery status notifications (RFC 3464) back into the pipeline as new messages with the null sender, so
/// they are routed like any mail (local mailbox or the outbound queue). Never to the null sender; honours
/// NOTIFY; a retried work item produces the same bounce id, so the same bounce (stored once, indexed once).
/// </summary>
public sealed class Bouncer(StorageAccount account, string hostName, ILogger logger)
{
    private readonly StorageMessageSpool _spool = new(account);
    private readonly BlobMessageContent _messages = new(account);

    public Task BounceAsync(string bounceId, string sender, string? ret, string? envId, DateTimeOffset receivedAt, string messageBlob,
        IReadOnlyList<BounceRecipient> failures, CancellationToken cancellationToken, TraceLog? trace = null) =>
        NotifyAsync(bounceId, "failed", sender, ret, envId, receivedAt, messageBlob, failures, cancellationToken, trace);

    /// <summary>
    /// A DSN with <paramref name="action"/> "failed" (a bounce) or "delayed" (a warning), to recipients whose NOTIFY
    /// asks for it (FAILURE or DELAY; no NOTIFY means both).
    /// </summary>
    public async Task NotifyAsync(string bounceId, string action, string sender, string? ret, string? envId, DateTimeOffset receivedAt, string messageBlob,
        IReadOnlyList<BounceRecipient> failures, CancellationToken cancellationToken, TraceLog? trace = null)
    {
        var condition = action == "delayed" ? "DELAY" : "FAILURE";
        var wanted = failures.Where(f => f.Recipient.Notify is null || f.Recipient.Notify.Contains(condition, StringComparison.OrdinalIgnoreCase)).ToList();
        if (sender.Length == 0 || wanted.Count == 0)
        {
            logger.LogInformation("{BounceId}: {Count} recipient(s) failed; no bounce (null sender or NOTIFY)", bounceId, failures.Count);
            trace?.Add(TraceStage.Bounced, $"{Few(failures)} {action}; no notice sent ({(sender.Length == 0 ? "null sender" : "NOTIFY excludes " + condition)})");
            return;
        }
        var original = await _messages.ReadAllAsync(messageBlob, cancellationToken).ConfigureAwait(false);
        var dsn = DsnBuilder.Build(hostName, $"postmaster@{hostName}", sender,
            wanted.Select(f => new DsnRecipient(f.Recipient.Address, action, f.Status, f.Recipient.OriginalRecipient, f.RemoteMta, f.Diagnostic)).ToList(),
            original, headersOnly: ret == "HDRS", envId, receivedAt, MimeParser.Parse(original).Subject);
        var envelope = new Envelope
        {
            Sender = string.Empty,
            Recipients = [new EnvelopeRecipient(sender)],
            ClientAddress = "127.0.0.1",
            Helo = hostName,
            Listener = "internal",
            // The original's date keeps the bounce's blob path the same on a retry: the same bounce, not a second one.
            ReceivedAt = receivedAt,
            Body = dsn.Any(b => b >= 0x80) ? "8BITMIME" : "7BIT",
        };
        // A retry finds the blob an earlier attempt stored and sends its work item again (that attempt may have died
        // before enqueueing it: the fault harness lost a bounce that way); indexing and delivery de-duplicate.
        await _spool.StoreOnceAsync(bounceId, envelope, new MemoryStream(dsn), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("{BounceId}: bounce sent to <{Sender}> for {Count} recipient(s)", bounceId, sender, wanted.Count);
        trace?.Add(TraceStage.Bounced, $"{(action == "delayed" ? "delay notice" : "bounce")} {bounceId} sent to <{sender}> for {Few(wanted)}");
    }

    private static string Few(IReadOnlyList<BounceRecipient> list) => TraceLog.Few(list.Select(f => $"{f.Recipient.Address} ({f.Status})"), 5);
}
