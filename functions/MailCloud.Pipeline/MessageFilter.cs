using MailCloud.Core;
using MailCloud.Mime;

namespace MailCloud.Pipeline;

/// <summary>
/// What a check sees: the envelope, the parsed message (the raw bytes are at <see cref="InboundWorkItem.MessageBlob"/>),
/// the results of the checks that ran before it, and whether an administrator released the message from quarantine
/// (the content engines then stand aside).
/// </summary>
public sealed record MessageContext(InboundWorkItem Item, Envelope Envelope, MimeEntity Message)
{
    private readonly List<CheckResult> _earlier = [];

    public bool Released { get; init; }
    public IReadOnlyList<CheckResult> Earlier => _earlier;
    internal void Add(CheckResult result) => _earlier.Add(result);

    /// <summary>The raw bytes when the inbound stage kept them (messages up to a few MiB): checks read these, not the blob again.</summary>
    public byte[]? Raw { get; init; }

    /// <summary>The raw message: the kept bytes, or a download of the blob (one more storage request).</summary>
    public async Task<Stream> OpenRawAsync(MailCloud.Data.IMessageContent messages, CancellationToken cancellationToken) =>
        Raw is { } raw ? new MemoryStream(raw, writable: false) : await messages.OpenReadAsync(Item.MessageBlob, cancellationToken: cancellationToken).ConfigureAwait(false);

    public async Task<byte[]> ReadRawAsync(MailCloud.Data.IMessageContent messages, CancellationToken cancellationToken) =>
        Raw ?? await messages.ReadAllAsync(Item.MessageBlob, cancellationToken).ConfigureAwait(false);
}

/// <summary>One finding of a check; the filter folds them into a <see cref="Verdict"/>.</summary>
public sealed record CheckResult(string Check, double SpamScore = 0, bool Loop = false, string? AuthenticationResult = null, string? Note = null)
{
    /// <summary>Set by a content engine: its name, action and symbols.</summary>
    public string? Engine { get; init; }
    public string? Action { get; init; }
    public IReadOnlyList<string> Symbols { get; init; } = [];

    public string? Virus { get; init; }
    public string? VirusScan { get; init; }
    public bool Unscanned { get; init; }
}

/// <summary>
/// A filter stage: SPF/DKIM/DMARC (returning its Authentication-Results clause), block lists, the built-in scorer,
/// the rspamd and clamd engines. Checks must not modify the message. An engine that cannot answer throws
/// <see cref="MailCloud.Filtering.EngineUnavailableException"/> and the inbound stage retries the work item later.
/// </summary>
public interface IMessageCheck
{
    Task<CheckResult> CheckAsync(MessageContext context, CancellationToken cancellationToken);
}

/// <summary>Routing loops: more trace headers than any sane path has (RFC 5321 6.3 suggests refusing at 100; we stop at 30).</summary>
public sealed class LoopCheck(int maxReceived = 30) : IMessageCheck
{
    public Task<CheckResult> CheckAsync(MessageContext context, CancellationToken cancellationToken)
    {
        int hops = context.Message.GetHeaders("Received").Count() + context.Message.GetHeaders("Delivered-To").Count();
        return Task.FromResult(hops > maxReceived
            ? new CheckResult("loop", Loop: true, Note: $"{hops} Received/Delivered-To headers")
            : new CheckResult("loop"));
    }
}

/// <summary>
/// Trusts an upstream filter's X-Spam-Flag only on mail from authenticated users (never from the MX, where anyone can
/// write that header): a user's own relay that already filtered.
/// </summary>
public sealed class SubmittedSpamFlagCheck : IMessageCheck
{
    public Task<CheckResult> CheckAsync(MessageContext context, CancellationToken cancellationToken)
    {
        var flag = context.Envelope.AuthenticatedUser is not null ? context.Message.GetHeader("X-Spam-Flag")?.Value : null;
        return Task.FromResult(string.Equals(flag, "YES", StringComparison.OrdinalIgnoreCase)
            ? new CheckResult("spam-flag", SpamScore: 10, Note: "X-Spam-Flag: YES from an authenticated sender")
            : new CheckResult("spam-flag"));
    }
}

public sealed class MessageFilter(IEnumerable<IMessageCheck> checks, string hostName)
{
    public string HostName { get; } = hostName;

    /// <param name="network">Checks that need the network or an engine: SPF/DKIM/DMARC (<see cref="Authentication.AuthenticationCheck"/>;
    /// without it Authentication-Results says none), block lists, the content scorer and the virus scanner.</param>
    public static MessageFilter Default(string hostName, params IMessageCheck[] network) =>
        new([new LoopCheck(), .. network, new SubmittedSpamFlagCheck()], hostName);

    public async Task<Verdict> EvaluateAsync(MessageContext context, CancellationToken cancellationToken)
    {
        foreach (var check in checks)
        {
            var result = await check.CheckAsync(context, cancellationToken).ConfigureAwait(false);
            context.Add(result);
            if (result.Loop)
                break; // not delivered anyway: spare the engines
        }
        var results = context.Earlier;
        var engine = results.LastOrDefault(r => r.Engine is not null);
        var auth = results.Select(r => r.AuthenticationResult).Where(a => a is not null).ToList();
        var scanner = results.LastOrDefault(r => r.VirusScan is not null);
        var verdict = new Verdict
        {
            SpamScore = Math.Round(results.Sum(r => r.SpamScore), 2),
            Loop = results.Any(r => r.Loop),
            // Without SPF/DKIM/DMARC checks this says so, rather than claiming a result.
            AuthenticationResults = $"{HostName}; " + (auth.Count == 0 ? "none" : string.Join("; ", auth)),
            Notes = results.Where(r => r.Note is not null).Select(r => $"{r.Check}: {r.Note}").ToList(),
            Engine = engine?.Engine ?? "builtin",
            EngineAction = engine?.Action,
            EngineScore = engine?.SpamScore ?? 0,
            Symbols = results.SelectMany(r => r.Symbols).ToList(),
            Virus = results.Select(r => r.Virus).FirstOrDefault(v => v is not null),
            VirusScan = scanner?.VirusScan,
            Unscanned = results.Any(r => r.Unscanned),
        };
        return verdict with { Spam = SpamDecision.Decide(verdict, null) != Disposition.Inbox };
    }
}
