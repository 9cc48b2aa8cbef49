using System.Text.Json;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Mime;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Pipeline;

public sealed record InboundResult(int Local, int Queued, int Remote, int Failed, bool Loop);

/// <summary>
/// The inbound stage (queue "inbound"): parse once, filter, route, then index local copies (inline for a few
/// recipients, through the "index" queue beyond that), put remote recipients on "outbound", and bounce what cannot be
/// delivered. Safe to run twice for the same work item: indexing de-duplicates, outbound items carry a stable key.
/// </summary>
public sealed class InboundProcessor(
    StorageAccount account,
    IMailDirectory directory,
    MessageFilter filter,
    MailboxIndexer indexer,
    string hostName,
    ILogger logger,
    int inlineIndexLimit = 5)
{
    private readonly StorageMessageSpool _spool = new(account);
    private readonly BlobMessageContent _messages = new(account);
    private readonly WorkQueues _queues = new(account);
    private readonly Bouncer _bouncer = new(account, hostName, logger);

    public async Task<InboundResult> ProcessAsync(BinaryData queueMessage, CancellationToken cancellationToken)
    {
        var (item, envelope) = await _spool.ReadWorkItemAsync(queueMessage, cancellationToken).ConfigureAwait(false);
        using var scope = logger.BeginScope("message {MessageId}", item.MessageId);

        MimeEntity message;
        await using (var download = await _messages.OpenReadAsync(item.MessageBlob, cancellationToken: cancellationToken).ConfigureAwait(false))
        await using (var buffered = new BufferedStream(download, 64 * 1024))
            message = MimeParser.Parse(buffered, new MimeParserOptions { KeepRootHeaderUpTo = MessageSummary.MaxStoredHeader });

        var verdict = await filter.EvaluateAsync(new MessageContext(item, envelope, message), cancellationToken).ConfigureAwait(false);
        if (verdict.Loop)
        {
            logger.LogWarning("{MessageId}: routing loop ({Notes}); not delivered", item.MessageId, string.Join("; ", verdict.Notes));
            await BounceAsync(item, envelope, envelope.Recipients.Select(r => new RouteFailure(r.Address, "5.4.6", "routing loop detected (too many Received headers)", r)).ToList(), cancellationToken).ConfigureAwait(false);
            return new InboundResult(0, 0, 0, envelope.Recipients.Count, Loop: true);
        }

        var plan = await new Router(directory).PlanAsync(envelope, verdict, cancellationToken).ConfigureAwait(false);
        var summary = MessageSummary.Of(message);
        int queued = 0;
        foreach (var (delivery, i) in plan.Local.Select((d, i) => (d, i)))
        {
            var work = new IndexWorkItem
            {
                MessageId = item.MessageId,
                MessageBlob = item.MessageBlob,
                Size = item.Size,
                User = delivery.User.Address,
                Folder = delivery.Folder,
                ReceivedAt = envelope.ReceivedAt,
                Verdict = verdict,
                Summary = summary,
            };
            if (i < inlineIndexLimit)
            {
                var result = await indexer.IndexAsync(delivery.User, work, cancellationToken).ConfigureAwait(false);
                logger.LogInformation("{MessageId}: {User}/{Folder} uid {Uid}{Again}", item.MessageId, delivery.User, delivery.Folder, result.Uid, result.AlreadyIndexed ? " (already indexed)" : "");
            }
            else
            {
                await _queues.EnqueueAsync(StorageNames.IndexQueue, work, cancellationToken).ConfigureAwait(false);
                queued++;
            }
        }

        foreach (var group in plan.Remote.GroupBy(r => (r.Sender, Domain: MailAddress.Parse(r.Recipient.Address).Domain)))
        {
            var outbound = new OutboundWorkItem
            {
                Key = $"{item.MessageId}:{group.Key.Sender}:{group.Key.Domain}",
                MessageId = item.MessageId,
                MessageBlob = item.MessageBlob,
                Sender = group.Key.Sender,
                Domain = group.Key.Domain,
                Recipients = group.Select(r => r.Recipient).ToList(),
                EnvId = envelope.EnvId,
                Ret = envelope.Ret,
                ReceivedAt = envelope.ReceivedAt,
                Size = item.Size,
                SmtpUtf8 = envelope.SmtpUtf8,
                Body = envelope.Body,
            };
            await _queues.EnqueueAsync(StorageNames.OutboundQueue, outbound, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("{MessageId}: {Count} recipient(s) at {Domain} queued for remote delivery", item.MessageId, outbound.Recipients.Count, group.Key.Domain);
        }

        if (plan.Failures.Count > 0)
            await BounceAsync(item, envelope, plan.Failures, cancellationToken).ConfigureAwait(false);
        return new InboundResult(plan.Local.Count - queued, queued, plan.Remote.Count, plan.Failures.Count, Loop: false);
    }



    private Task BounceAsync(InboundWorkItem item, Envelope envelope, IReadOnlyList<RouteFailure> failures, CancellationToken cancellationToken) =>
        _bouncer.BounceAsync("dsn" + item.MessageId, envelope.Sender, envelope.Ret, envelope.EnvId, envelope.ReceivedAt, item.MessageBlob,
            failures.Select(f => new BounceRecipient(f.Original with { Address = f.Recipient }, f.Status, $"{f.Status} {f.Reason}")).ToList(), cancellationToken);
}
