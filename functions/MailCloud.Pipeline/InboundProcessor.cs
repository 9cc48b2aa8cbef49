using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Filtering;
using MailCloud.Mime;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Pipeline;

public sealed record InboundResult(int Local, int Queued, int Remote, int Failed, bool Loop)
{
    /// <summary>Recipients whose copy was held in quarantine.</summary>
    public int Quarantined { get; init; }

    /// <summary>An engine was down: the item went back on the queue for later.</summary>
    public bool Deferred { get; init; }
}

/// <summary>How the inbound stage batches and retries.</summary>
public sealed record InboundOptions
{
    /// <summary>Local copies indexed inline; beyond that they go through the "index" queue.</summary>
    public int InlineIndexLimit { get; init; } = 5;

    /// <summary>
    /// Waits before the n-th retry when a content engine is down (the last repeats). After <see cref="MaxFilterAttempts"/>
    /// the stage throws and the queue's own retries end in inbound-poison: never delivered unscanned.
    /// </summary>
    public IReadOnlyList<TimeSpan> FilterRetryDelays { get; init; } =
        [TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30)];

    /// <summary>About a day of retries at the default delays.</summary>
    public int MaxFilterAttempts { get; init; } = 50;

    /// <summary>Messages up to this size are read once and kept in memory for the checks (no second blob read per engine).</summary>
    public long KeepRawUpTo { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// A work item's copy of the message is used only while the item is younger than this; an older one (a poisoned
    /// item replayed late) reads the blob, so a blob housekeeping has removed since fails the item instead of being
    /// indexed as a pointer to nothing. Well under housekeeping's orphan age (30 days).
    /// </summary>
    public TimeSpan InlineContentMaxAge { get; init; } = TimeSpan.FromDays(7);
}

/// <summary>
/// The inbound stage (queue "inbound"): parse once, filter, hold or route, then index local copies (inline for a few
/// recipients, through the "index" queue beyond that), put remote recipients on "outbound", and bounce what cannot be
/// delivered. Each local copy gets the verdict's header lines in front of the stored bytes. Safe to run twice for the
/// same work item: indexing de-duplicates, outbound items carry a stable key, quarantine entries are keyed by message.
/// </summary>
public sealed class InboundProcessor(
    StorageAccount account,
    IMailDirectory directory,
    MessageFilter filter,
    MailboxIndexer indexer,
    string hostName,
    ILogger logger,
    InboundOptions? options = null)
{
    private readonly StorageMessageSpool _spool = new(account);
    private readonly BlobMessageContent _messages = new(account);
    private readonly WorkQueues _queues = new(account);
    private readonly Bouncer _bouncer = new(account, hostName, logger);
    private readonly QuarantineStore _quarantine = new(account);
    private readonly InboundOptions _options = options ?? new InboundOptions();
    private readonly MessageTraceStore _traces = new(account);

    public async Task<InboundResult> ProcessAsync(BinaryData queueMessage, CancellationToken cancellationToken)
    {
        var (item, envelope) = await _spool.ReadWorkItemAsync(queueMessage, cancellationToken).ConfigureAwait(false);
        using var scope = logger.BeginScope("message {MessageId}", item.MessageId);
        var trace = new TraceLog(_traces, item.MessageId, logger);
        // Same row on a re-run (same time, same text): acceptance is traced once.
        trace.Add(TraceStage.Accepted, TraceLog.Accepted(envelope, item.Size) + (item.Released ? "; released from quarantine" : string.Empty), envelope.ReceivedAt);
        // The address index is written on the first run only (a filter retry or a release adds nothing to find).
        return await trace.RunAsync("inbound stage", () => ProcessAsync(item, envelope, trace, cancellationToken),
            _ => item.FilterAttempts == 0 && !item.Released ? envelope.Recipients.Select(r => r.Address).Prepend(envelope.Sender) : null, cancellationToken).ConfigureAwait(false);
    }

    private async Task<InboundResult> ProcessAsync(InboundWorkItem item, Envelope envelope, TraceLog trace, CancellationToken cancellationToken)
    {

        // A small message came with its work item; otherwise one download: a message up to KeepRawUpTo stays in
        // memory for the checks (DKIM, the engines), a larger one is parsed as it streams and the checks that need its
        // bytes read the blob again.
        MimeEntity message;
        byte[]? raw = null;
        var parse = new MimeParserOptions { KeepRootHeaderUpTo = MessageSummary.MaxStoredHeader };
        if (item.Content is { } inline && inline.Length == item.Size && DateTimeOffset.UtcNow - envelope.ReceivedAt < _options.InlineContentMaxAge)
        {
            raw = inline;
            message = MimeParser.Parse(raw, parse);
        }
        else if (item.Size <= _options.KeepRawUpTo)
        {
            raw = await _messages.ReadAllAsync(item.MessageBlob, cancellationToken).ConfigureAwait(false);
            message = MimeParser.Parse(raw, parse);
        }
        else
        {
            await using var download = await _messages.OpenReadAsync(item.MessageBlob, cancellationToken: cancellationToken).ConfigureAwait(false);
            await using var buffered = new BufferedStream(download, 64 * 1024);
            message = MimeParser.Parse(buffered, parse);
        }

        Verdict verdict;
        try
        {
            verdict = await filter.EvaluateAsync(new MessageContext(item, envelope, message) { Released = item.Released, Raw = raw }, cancellationToken).ConfigureAwait(false);
        }
        catch (EngineUnavailableException e) when (item.FilterAttempts + 1 < _options.MaxFilterAttempts)
        {
            // Not delivered unscanned: the same item again later (a new queue message; this one is then done).
            var delay = _options.FilterRetryDelays[Math.Min(item.FilterAttempts, _options.FilterRetryDelays.Count - 1)];
            await _queues.EnqueueAsync(StorageNames.InboundQueue, item with { FilterAttempts = item.FilterAttempts + 1 }, delay, cancellationToken).ConfigureAwait(false);
            logger.LogWarning("{MessageId}: {Error}; retry {Attempt} in {Delay}", item.MessageId, e.Message, item.FilterAttempts + 1, delay);
            trace.Add(TraceStage.Deferred, $"content engine unavailable ({e.Message}); filter retry {item.FilterAttempts + 1} in {delay.TotalSeconds:0} s");
            return new InboundResult(0, 0, 0, 0, Loop: false) { Deferred = true };
        }
        trace.Add(TraceStage.Filtered, TraceLog.Verdict(verdict));
        if (verdict.Loop)
        {
            logger.LogWarning("{MessageId}: routing loop ({Notes}); not delivered", item.MessageId, string.Join("; ", verdict.Notes));
            await BounceAsync(item, envelope, envelope.Recipients.Select(r => new RouteFailure(r.Address, "5.4.6", "routing loop detected (too many Received headers)", r)).ToList(), trace, cancellationToken).ConfigureAwait(false);
            return new InboundResult(0, 0, 0, envelope.Recipients.Count, Loop: true);
        }
        if (verdict.Virus is { } virus && !item.Released)
            return await HoldVirusAsync(item, envelope, message, virus, trace, cancellationToken).ConfigureAwait(false);

        // Per envelope recipient: its domain's thresholds decide INBOX, Junk or quarantine.
        var decisions = new Dictionary<EnvelopeRecipient, (Disposition Disposition, SpamPolicy? Policy)>();
        foreach (var rcpt in envelope.Recipients)
        {
            var policy = MailAddress.TryParse(rcpt.Address, out var a) ? (await directory.GetDomainAsync(a.Domain, cancellationToken).ConfigureAwait(false))?.Spam : null;
            decisions[rcpt] = (item.Released ? Disposition.Inbox : SpamDecision.Decide(verdict, policy), policy);
        }
        var held = envelope.Recipients.Where(r => decisions[r].Disposition == Disposition.Quarantine).ToList();
        if (held.Count > 0)
            await HoldSpamAsync(item, envelope, message, verdict, held, trace, cancellationToken).ConfigureAwait(false);
        var delivered = envelope with { Recipients = envelope.Recipients.Where(r => decisions[r].Disposition != Disposition.Quarantine).ToList() };

        var plan = await new Router(directory).PlanAsync(delivered, r => decisions[r].Disposition == Disposition.Junk ? "Junk" : "INBOX", cancellationToken).ConfigureAwait(false);
        trace.Add(TraceStage.Routed, Describe(plan));
        var summary = MessageSummary.Of(message);
        // Copies with the same disposition and thresholds get the same header lines: build each once (a list of 100
        // members in one domain shifts the part map once, not 100 times).
        var copies = new Dictionary<(Disposition, SpamPolicy?), (byte[] Prefix, MessageSummary Summary)>();
        int queued = 0;
        foreach (var (delivery, i) in plan.Local.Select((d, i) => (d, i)))
        {
            var (disposition, policy) = delivery.Via is { } via ? decisions[via] : (Disposition.Inbox, null);
            if (!copies.TryGetValue((disposition, policy), out var copy))
            {
                var lines = VerdictHeaders.Build(verdict, disposition, policy);
                copies[(disposition, policy)] = copy = (lines, summary.WithPrefix(lines));
            }
            var prefix = copy.Prefix;
            var work = new IndexWorkItem
            {
                MessageId = item.MessageId,
                MessageBlob = item.MessageBlob,
                Size = item.Size + prefix.Length,
                User = delivery.User.Address,
                Folder = delivery.Folder,
                ReceivedAt = envelope.ReceivedAt,
                // The row's spam mark follows this recipient's disposition (their domain's thresholds).
                Verdict = verdict with { Spam = disposition != Disposition.Inbox },
                Summary = copy.Summary,
                Prefix = prefix,
                // A released message is the held one, delivered now: never a resend of itself.
                ResendKey = item.Released ? null : MailboxKeys.ResendKey(envelope.Sender, copy.Summary.MessageIdHeader, copy.Summary.Envelope + "\n" + copy.Summary.BodyStructure),
            };
            if (i < _options.InlineIndexLimit)
            {
                var result = await indexer.IndexAsync(delivery.User, work, cancellationToken).ConfigureAwait(false);
                logger.LogInformation("{MessageId}: {User}/{Folder} uid {Uid}{Again}", item.MessageId, delivery.User, delivery.Folder, result.Uid, result.AlreadyIndexed ? " (already indexed)" : "");
                trace.Add(TraceStage.Indexed, MailboxIndexer.Describe(delivery.User, delivery.Folder, result));
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
            await BounceAsync(item, envelope, plan.Failures, trace, cancellationToken).ConfigureAwait(false);
        return new InboundResult(plan.Local.Count - queued, queued, plan.Remote.Count, plan.Failures.Count, Loop: false) { Quarantined = held.Count };
    }

    /// <summary>
    /// A virus: nobody gets the message. It is held for every recipient; each local user it would have reached gets a
    /// short notice (no payload); an authenticated sender gets a bounce with the headers only. MX senders get nothing
    /// (their address is as likely forged as not).
    /// </summary>
    private async Task<InboundResult> HoldVirusAsync(InboundWorkItem item, Envelope envelope, MimeEntity message, string virus, TraceLog trace, CancellationToken cancellationToken)
    {
        trace.Add(TraceStage.Held, $"virus {virus}: held in quarantine for {envelope.Recipients.Count} recipient(s); nobody gets the message");
        await _quarantine.HoldAsync(Entry(item, envelope, message, envelope.Recipients, "virus", virus), cancellationToken).ConfigureAwait(false);
        logger.LogWarning("{MessageId}: virus {Virus} found; held in quarantine for {Count} recipient(s)", item.MessageId, virus, envelope.Recipients.Count);
        var plan = await new Router(directory).PlanAsync(envelope, _ => "INBOX", cancellationToken).ConfigureAwait(false);
        var notices = new QuarantineNotices(_messages, indexer, hostName);
        foreach (var user in plan.Local.Select(l => l.User).Distinct())
            await notices.DeliverAsync(user, item, envelope, message, $"it contains a virus ({virus})", cancellationToken).ConfigureAwait(false);
        if (envelope.AuthenticatedUser is not null)
        {
            await _bouncer.BounceAsync("dsn" + item.MessageId, envelope.Sender, "HDRS", envelope.EnvId, envelope.ReceivedAt, item.MessageBlob,
                envelope.Recipients.Select(r => new BounceRecipient(r, "5.7.1", $"5.7.1 message not delivered: virus found ({virus})")).ToList(), cancellationToken, trace).ConfigureAwait(false);
        }
        return new InboundResult(0, 0, 0, 0, Loop: false) { Quarantined = envelope.Recipients.Count };
    }

    /// <summary>Spam over the quarantine threshold: bounced to an authenticated sender (their own mail), held otherwise.</summary>
    private async Task HoldSpamAsync(InboundWorkItem item, Envelope envelope, MimeEntity message, Verdict verdict, List<EnvelopeRecipient> held, TraceLog trace, CancellationToken cancellationToken)
    {
        var detail = $"score {verdict.SpamScore:0.0} ({verdict.Engine}{(verdict.EngineAction is null ? string.Empty : ", " + verdict.EngineAction)})";
        if (envelope.AuthenticatedUser is not null)
        {
            logger.LogWarning("{MessageId}: rejected as spam, {Detail}; bounced to the sender", item.MessageId, detail);
            await _bouncer.BounceAsync("spam" + item.MessageId, envelope.Sender, "HDRS", envelope.EnvId, envelope.ReceivedAt, item.MessageBlob,
                held.Select(r => new BounceRecipient(r, "5.7.1", $"5.7.1 message rejected as spam: {detail}")).ToList(), cancellationToken, trace).ConfigureAwait(false);
            return;
        }
        await _quarantine.HoldAsync(Entry(item, envelope, message, held, "spam", detail), cancellationToken).ConfigureAwait(false);
        trace.Add(TraceStage.Held, $"spam, {detail}: held in quarantine for {string.Join(", ", held.Select(r => r.Address))}");
        logger.LogWarning("{MessageId}: spam, {Detail}; held in quarantine for {Count} recipient(s)", item.MessageId, detail, held.Count);
    }

    private static QuarantineEntry Entry(InboundWorkItem item, Envelope envelope, MimeEntity message, IReadOnlyList<EnvelopeRecipient> held, string reason, string detail) => new()
    {
        Id = item.MessageId,
        Blob = item.MessageBlob,
        Size = item.Size,
        Reason = reason,
        Detail = detail,
        Envelope = envelope with { Recipients = held },
        Subject = message.Subject,
        From = message.GetHeader("From")?.Value,
        Quarantined = DateTimeOffset.UtcNow,
    };

    private Task BounceAsync(InboundWorkItem item, Envelope envelope, IReadOnlyList<RouteFailure> failures, TraceLog trace, CancellationToken cancellationToken) =>
        _bouncer.BounceAsync("dsn" + item.MessageId, envelope.Sender, envelope.Ret, envelope.EnvId, envelope.ReceivedAt, item.MessageBlob,
            failures.Select(f => new BounceRecipient(f.Original with { Address = f.Recipient }, f.Status, $"{f.Status} {f.Reason}")).ToList(), cancellationToken, trace);

    /// <summary>The routing plan as one line: each local copy's folder, the remote domains, the failures.</summary>
    private static string Describe(RoutePlan plan)
    {
        var parts = new List<string>();
        if (plan.Local.Count > 0)
            parts.Add("local: " + TraceLog.Few(plan.Local.Select(l => $"{l.User}/{l.Folder}" + (l.Via is { } via && !string.Equals(via.Address, l.User.Address, StringComparison.OrdinalIgnoreCase) ? $" (via {via.Address})" : string.Empty))));
        foreach (var domain in plan.Remote.GroupBy(r => MailAddress.Parse(r.Recipient.Address).Domain))
            parts.Add($"remote {domain.Key}: " + TraceLog.Few(domain.Select(r => r.Recipient.Address)) + " queued for delivery");
        if (plan.Failures.Count > 0)
            parts.Add("failed: " + TraceLog.Few(plan.Failures.Select(f => $"{f.Recipient} {f.Status} {f.Reason}")));
        return parts.Count > 0 ? string.Join("; ", parts) : "no recipients left";
    }
}
