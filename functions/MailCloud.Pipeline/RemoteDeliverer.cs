using System.Globalization;
using System.Net;
using System.Text.Json;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Dns;
using MailCloud.SmtpClient;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Pipeline;

/// <summary>Remote delivery settings (MAILCLOUD_* variables, see README).</summary>
public sealed record DeliveryOptions
{
    public int RemotePort { get; init; } = 25;

    /// <summary>Delay before each retry; the last one repeats. Jittered by ±20 %.</summary>
    public IReadOnlyList<TimeSpan> RetrySchedule { get; init; } =
        [TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(4)];

    /// <summary>How long a message may wait for delivery before it bounces (RFC 5321 suggests 4–5 days).</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromDays(5);

    /// <summary>
    /// After this long still undelivered, the sender gets one "delayed" DSN (RFC 3464 Action: delayed) unless its
    /// NOTIFY excludes DELAY; null sends none.
    /// </summary>
    public TimeSpan? DelayNotice { get; init; } = TimeSpan.FromHours(4);

    /// <summary>Smart host ("host:port") for everything remote, e.g. where outbound port 25 is blocked.</summary>
    public string? RelayHost { get; init; }
    public NetworkCredential? RelayCredentials { get; init; }
    public bool RelayImplicitTls { get; init; }

    public static DeliveryOptions FromEnvironment(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        var options = new DeliveryOptions();
        if (env("MAILCLOUD_SMTP_REMOTE_PORT") is { Length: > 0 } port)
            options = options with { RemotePort = int.Parse(port, CultureInfo.InvariantCulture) };
        if (env("MAILCLOUD_RETRY_SCHEDULE") is { Length: > 0 } schedule)
            options = options with { RetrySchedule = schedule.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Durations.Parse).ToList() };
        if (env("MAILCLOUD_QUEUE_LIFETIME") is { Length: > 0 } lifetime)
            options = options with { Lifetime = Durations.Parse(lifetime) };
        if (env("MAILCLOUD_DELAY_NOTICE") is { Length: > 0 } notice)
            options = options with { DelayNotice = notice.Trim() is "off" or "0" ? null : Durations.Parse(notice) };
        if (env("MAILCLOUD_RELAY_HOST") is { Length: > 0 } relay)
        {
            options = options with { RelayHost = relay, RelayImplicitTls = string.Equals(env("MAILCLOUD_RELAY_TLS"), "implicit", StringComparison.OrdinalIgnoreCase) };
            if (env("MAILCLOUD_RELAY_USER") is { Length: > 0 } user)
                options = options with { RelayCredentials = new NetworkCredential(user, env("MAILCLOUD_RELAY_PASSWORD") ?? string.Empty) };
        }
        return options;
    }
}

/// <summary>
/// The deliver stage (queue "outbound"): MX lookup (lowest preference first, random among equals; A/AAAA when there
/// is no MX; null MX and NXDOMAIN are permanent), SMTP to each host in turn until one answers, per-recipient
/// outcome. Recipients still pending are re-enqueued by this function with a growing, jittered delay until the
/// lifetime runs out; failures bounce once. Successful recipients are recorded, so a repeated work item never sends
/// to them again.
/// </summary>
public sealed class RemoteDeliverer(StorageAccount account, DnsResolver dns, DeliveryOptions options, string hostName, ILogger logger, TimeProvider? time = null, IMailDirectory? directory = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly DeliveryLog _deliveries = new(account);
    private readonly WorkQueues _queues = new(account);
    private readonly BlobMessageContent _messages = new(account);
    private readonly Bouncer _bouncer = new(account, hostName, logger);
    private readonly MessageTraceStore _traces = new(account);
    private readonly ScheduledRetryStore _retries = new(account);

    public sealed record Outcome(int Delivered, int Deferred, int Failed);

    public async Task<Outcome> DeliverAsync(OutboundWorkItem item, CancellationToken cancellationToken)
    {
        using var scope = logger.BeginScope("message {MessageId} to {Domain}", item.MessageId, item.Domain);
        var trace = new TraceLog(_traces, item.MessageId, logger, _time);
        return await trace.RunAsync($"delivery to {item.Domain}", () => DeliverAsync(item, trace, cancellationToken), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task<Outcome> DeliverAsync(OutboundWorkItem item, TraceLog trace, CancellationToken cancellationToken)
    {
        var done = await _deliveries.DeliveredAsync(item.Key, cancellationToken).ConfigureAwait(false);
        var pending = item.Recipients.Where(r => !done.Contains(r.Address)).ToList();
        if (pending.Count == 0)
            return new Outcome(0, 0, 0);

        var failed = new List<BounceRecipient>();
        var deferred = new List<(EnvelopeRecipient Recipient, string Reply)>();
        int delivered = 0;
        Func<CancellationToken, Task<Stream>>? open = null;

        var (targets, routeProblem) = await TargetsAsync(item.Domain, cancellationToken).ConfigureAwait(false);
        if (routeProblem is { } problem)
        {
            trace.Add(TraceStage.Attempt, $"attempt {item.Attempt + 1} to {item.Domain}: {problem.Text} ({(problem.Permanent ? "permanent" : "temporary")})");
            if (problem.Permanent)
                failed.AddRange(pending.Select(r => new BounceRecipient(r, problem.Status, problem.Text)));
            else
                deferred.AddRange(pending.Select(r => (r, problem.Text)));
        }
        else
        {
            var remaining = pending;
            string lastProblem = "no mail server could be reached";
            foreach (var (host, address) in targets)
            {
                if (remaining.Count == 0)
                    break;
                SmtpSendResult result;
                try
                {
                    open ??= await PrepareMessageAsync(item, cancellationToken).ConfigureAwait(false);
                    result = await SmtpDeliveryClient.SendAsync(new IPEndPoint(address, RelayPort() ?? options.RemotePort), host, ClientOptions(), item.Sender, remaining,
                        new MessageProperties(item.Size, item.Body != "7BIT", item.SmtpUtf8, item.Ret, item.EnvId),
                        open, cancellationToken).ConfigureAwait(false);
                }
                catch (SmtpConnectException e)
                {
                    lastProblem = e.Message;
                    logger.LogInformation("{Host} [{Address}]: {Problem}", host, address, e.Message);
                    trace.Add(TraceStage.Attempt, $"attempt {item.Attempt + 1}: {host} [{address}]: {e.Message}");
                    continue; // next MX
                }
                if (result.TlsProblem is not null)
                    logger.LogInformation("{Host}: TLS certificate problem ({Problem}); delivered encrypted anyway (opportunistic)", host, result.TlsProblem);
                trace.Add(TraceStage.Attempt, $"attempt {item.Attempt + 1}: {host} [{address}]{(result.Tls ? " over TLS" : " without TLS")}: "
                    + string.Join("; ", result.Recipients.Select(r => $"<{r.Address}> {r.Code} {r.Reply}")));
                var next = new List<EnvelopeRecipient>();
                foreach (var (recipient, r) in remaining.Zip(result.Recipients))
                {
                    if (r.Accepted)
                    {
                        delivered++;
                        MailMetrics.Delivery("delivered");
                        await _deliveries.RecordAsync(item.Key, new DeliveryRecord(recipient.Address, host, r.Reply, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
                        logger.LogInformation("delivered to <{Recipient}> via {Host}: {Code} {Reply}", recipient.Address, host, r.Code, r.Reply);
                    }
                    else if (r.Permanent)
                        failed.Add(new BounceRecipient(recipient, StatusOf(r.Reply, "5.0.0"), $"{r.Code} {r.Reply}", host));
                    else if (r.Code == 421)
                        next.Add(recipient); // the host is going away: try the next one
                    else
                        deferred.Add((recipient, $"{r.Code} {r.Reply}"));
                }
                remaining = next;
                lastProblem = "the mail servers were not available";
            }
            deferred.AddRange(remaining.Select(r => (r, lastProblem)));
        }

        bool expired = await RescheduleOrExpireAsync(item, deferred, failed, trace, cancellationToken).ConfigureAwait(false);
        MailMetrics.Delivery("deferred", expired ? 0 : deferred.Count);
        MailMetrics.Delivery("bounced", failed.Count);
        if (failed.Count > 0)
            await _bouncer.BounceAsync($"dsn{item.MessageId}-{StableHash(item.Key)}-{item.Attempt}", item.Sender, item.Ret, item.EnvId, item.ReceivedAt, item.MessageBlob, failed, cancellationToken, trace).ConfigureAwait(false);
        return new Outcome(delivered, expired ? 0 : deferred.Count, failed.Count);
    }

    /// <summary>Re-enqueues the deferred recipients, or (past the lifetime) moves them to the failures; true when they expired.</summary>
    private async Task<bool> RescheduleOrExpireAsync(OutboundWorkItem item, List<(EnvelopeRecipient Recipient, string Reply)> deferred, List<BounceRecipient> failed, TraceLog trace, CancellationToken cancellationToken)
    {
        if (deferred.Count == 0)
        {
            await ForgetRetryAsync(item, cancellationToken).ConfigureAwait(false);
            return false;
        }
        var now = _time.GetUtcNow();
        var delay = options.RetrySchedule[Math.Min(item.Attempt, options.RetrySchedule.Count - 1)];
        delay = TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (0.8 + Random.Shared.NextDouble() * 0.4));
        if (delay > TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1))
            delay = TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1); // the queue's visibility limit
        if (now + delay - item.ReceivedAt > options.Lifetime)
        {
            // Out of time: these bounce now, with the last reason we had.
            failed.AddRange(deferred.Select(d => new BounceRecipient(d.Recipient, "4.4.7", $"delivery time expired after {item.Attempt + 1} attempts; last error: {d.Reply}")));
            logger.LogInformation("{Count} recipient(s) expired after {Attempts} attempts", deferred.Count, item.Attempt + 1);
            trace.Add(TraceStage.Deferred, $"{string.Join(", ", deferred.Select(d => d.Recipient.Address))}: delivery time expired after {item.Attempt + 1} attempts");
            await ForgetRetryAsync(item, cancellationToken).ConfigureAwait(false);
            return true;
        }
        bool notify = options.DelayNotice is { } after && !item.DelayNotified && now - item.ReceivedAt >= after;
        if (notify)
        {
            // One notice per message and domain (the notice id is fixed, so a retried work item cannot send a second).
            await _bouncer.NotifyAsync($"dly{item.MessageId}-{StableHash(item.Key)}", "delayed", item.Sender, item.Ret, item.EnvId, item.ReceivedAt, item.MessageBlob,
                deferred.Select(d => new BounceRecipient(d.Recipient, StatusOf(d.Reply, "4.0.0"), d.Reply)).ToList(), cancellationToken, trace).ConfigureAwait(false);
        }
        var retry = item with { Recipients = deferred.Select(d => d.Recipient).ToList(), Attempt = item.Attempt + 1, DelayNotified = item.DelayNotified || notify };
        var receipt = await _queues.SendAsync(StorageNames.OutboundQueue, retry, delay, cancellationToken).ConfigureAwait(false);
        try
        {
            await _retries.RecordAsync(new ScheduledRetry(item.Key, item.MessageId, StorageNames.OutboundQueue, receipt.MessageId, receipt.PopReceipt, now + delay, retry.Attempt,
                string.Join(", ", retry.Recipients.Select(r => r.Address)), deferred[0].Reply), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StorageErrors.IsStorageFailure(e))
        {
            // The retry is queued; only "retry now" cannot find it. Failing here would re-run the stage and queue a twin.
            logger.LogWarning("retry of {Key} not listed for operators: {Error}", item.Key, e.Message);
        }
        logger.LogInformation("{Count} recipient(s) deferred; attempt {Attempt} in {Delay}", deferred.Count, retry.Attempt + 1, delay);
        trace.Add(TraceStage.Deferred, $"{string.Join(", ", deferred.Select(d => d.Recipient.Address))} deferred ({deferred[0].Reply}); attempt {retry.Attempt + 1} at {(now + delay).UtcDateTime:yyyy-MM-dd HH:mm:ss}Z");
        return false;
    }

    /// <summary>A retried item that is finished (delivered, bounced or expired) leaves the operators' list of waiting retries.</summary>
    private async Task ForgetRetryAsync(OutboundWorkItem item, CancellationToken cancellationToken)
    {
        if (item.Attempt == 0)
            return; // never deferred: no row (and no request)
        try
        {
            await _retries.ClearAsync(item.Key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StorageErrors.IsStorageFailure(e))
        {
            logger.LogWarning("finished retry {Key} still listed: {Error}", item.Key, e.Message);
        }
    }

    /// <summary>
    /// The bytes to send: DKIM-signed (d = the From domain) when that domain is hosted here and has a key, else as stored.
    /// Signing needs the whole message (the body hash) in memory; at most the SMTP size limit (50 MiB by default).
    /// </summary>
    private async Task<Func<CancellationToken, Task<Stream>>> PrepareMessageAsync(OutboundWorkItem item, CancellationToken ct)
    {
        if (directory is null)
            return c => _messages.OpenReadAsync(item.MessageBlob, cancellationToken: c);
        var content = await _messages.ReadAllAsync(item.MessageBlob, ct).ConfigureAwait(false);
        var from = Mime.MimeParser.Parse(content).From.OfType<Mime.MailboxAddress>().FirstOrDefault();
        if (from is not null && MailAddress.TryNormalizeDomain(from.Domain, out var domain, out _)
            && await directory.GetDkimKeyAsync(domain, ct).ConfigureAwait(false) is { } key)
        {
            using var rsa = System.Security.Cryptography.RSA.Create();
            rsa.ImportPkcs8PrivateKey(key.PrivateKey, out _);
            var now = _time.GetUtcNow();
            // Both signatures are over the message as it was: neither covers the other's DKIM-Signature header.
            var headers = new Dkim.DkimSigner(domain, key.Selector, rsa).Sign(content, now);
            if (key.Ed25519Key is not null)
                headers = Dkim.DkimSigner.Ed25519(domain, key.Ed25519Selector!, key.Ed25519Key).Sign(content, now) + headers;
            content = [.. System.Text.Encoding.Latin1.GetBytes(headers), .. content];
        }
        return _ => Task.FromResult<Stream>(new MemoryStream(content, writable: false));
    }

    private sealed record RouteProblem(bool Permanent, string Status, string Text);

    private int? RelayPort() => options.RelayHost is { } r && r.LastIndexOf(':') is var i and > 0 ? int.Parse(r[(i + 1)..], CultureInfo.InvariantCulture) : null;

    private SmtpClientOptions ClientOptions() => new()
    {
        HeloName = hostName,
        Credentials = options.RelayHost is null ? null : options.RelayCredentials,
        RequireTls = options.RelayHost is not null && options.RelayCredentials is not null && !options.RelayImplicitTls,
        ImplicitTls = options.RelayHost is not null && options.RelayImplicitTls,
        CommandTimeout = TimeSpan.FromMinutes(2),
    };

    /// <summary>Where to connect, in order: the relay host, or the domain's MX hosts (or its A/AAAA per RFC 5321 5.1).</summary>
    private async Task<(List<(string Host, IPAddress Address)> Targets, RouteProblem? Problem)> TargetsAsync(string domain, CancellationToken ct)
    {
        if (options.RelayHost is { } relay)
        {
            var hostPart = relay.LastIndexOf(':') is var i and > 0 ? relay[..i] : relay;
            if (IPAddress.TryParse(hostPart, out var ip))
                return ([(hostPart, ip)], null);
            var relayAddresses = await AddressesAsync(hostPart, ct).ConfigureAwait(false);
            return relayAddresses.Count > 0 ? (relayAddresses.Select(a => (hostPart, a)).ToList(), null) : ([], new RouteProblem(false, "4.4.3", $"relay host {hostPart} does not resolve"));
        }
        var mx = await dns.QueryAsync(domain, DnsType.MX, ct).ConfigureAwait(false);
        if (mx.IsTemporaryFailure)
            return ([], new RouteProblem(false, "4.4.3", $"DNS lookup of {domain} failed temporarily ({mx.Status})"));
        if (mx.IsNameError)
            return ([], new RouteProblem(true, "5.1.2", $"domain {domain} does not exist"));
        var records = mx.Data<MxData>().ToList();
        if (records.Count == 1 && records[0].Exchange.Length == 0)
            return ([], new RouteProblem(true, "5.1.10", $"domain {domain} accepts no mail (null MX)"));
        var hosts = records.Count > 0
            ? records.GroupBy(r => r.Preference).OrderBy(g => g.Key).SelectMany(g => g.OrderBy(_ => Random.Shared.Next())).Select(r => r.Exchange).ToList()
            : [domain]; // no MX: the domain itself is the implicit MX
        var targets = new List<(string, IPAddress)>();
        foreach (var host in hosts)
        {
            foreach (var address in await AddressesAsync(host, ct).ConfigureAwait(false))
                targets.Add((host, address));
        }
        return targets.Count > 0 ? (targets, null) : ([], new RouteProblem(records.Count == 0, records.Count == 0 ? "5.1.2" : "4.4.3", $"no address for the mail servers of {domain}"));
    }

    private async Task<List<IPAddress>> AddressesAsync(string host, CancellationToken ct)
    {
        var list = new List<IPAddress>();
        list.AddRange((await dns.QueryAsync(host, DnsType.A, ct).ConfigureAwait(false)).Data<IPAddress>());
        list.AddRange((await dns.QueryAsync(host, DnsType.AAAA, ct).ConfigureAwait(false)).Data<IPAddress>());
        return list;
    }

    private static string StatusOf(string reply, string fallback)
    {
        var first = reply.Split(' ', 2)[0];
        return first.Count(c => c == '.') == 2 && char.IsAsciiDigit(first[0]) ? first : fallback;
    }

    private static string StableHash(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..12];
}
