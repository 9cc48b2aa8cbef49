using MailCloud.Core;
using MailCloud.Mime;

namespace MailCloud.Pipeline;

/// <summary>What a check sees: the envelope, the parsed message and (for content checks) the raw bytes' location.</summary>
public sealed record MessageContext(InboundWorkItem Item, Envelope Envelope, MimeEntity Message);

/// <summary>One finding of a check; the filter folds them into a <see cref="Verdict"/>.</summary>
public sealed record CheckResult(string Check, double SpamScore = 0, bool Loop = false, string? AuthenticationResult = null, string? Note = null);

/// <summary>
/// A filter stage. The seams for what comes next: SPF/DKIM/DMARC (an authentication check returning its
/// Authentication-Results clause), spam and virus engines (returning scores). Checks must not modify the message.
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
/// write that header). A placeholder scoring until a real engine is plugged in through <see cref="IMessageCheck"/>.
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

public sealed class MessageFilter(IEnumerable<IMessageCheck> checks, string hostName, double spamThreshold = 5)
{
    /// <param name="network">Checks that need the network: SPF/DKIM/DMARC (<see cref="Authentication.AuthenticationCheck"/>;
    /// without it Authentication-Results says none) and block lists (<see cref="Authentication.DnsblCheck"/>).</param>
    public static MessageFilter Default(string hostName, params IMessageCheck[] network) =>
        new([new LoopCheck(), .. network, new SubmittedSpamFlagCheck()], hostName);

    public async Task<Verdict> EvaluateAsync(MessageContext context, CancellationToken cancellationToken)
    {
        var results = new List<CheckResult>();
        foreach (var check in checks)
            results.Add(await check.CheckAsync(context, cancellationToken).ConfigureAwait(false));
        double score = results.Sum(r => r.SpamScore);
        var auth = results.Select(r => r.AuthenticationResult).Where(a => a is not null).ToList();
        return new Verdict
        {
            Spam = score >= spamThreshold,
            SpamScore = score,
            Loop = results.Any(r => r.Loop),
            // Until SPF/DKIM/DMARC checks exist this says so, rather than claiming a result.
            AuthenticationResults = $"{hostName}; " + (auth.Count == 0 ? "none" : string.Join("; ", auth)),
            Notes = results.Where(r => r.Note is not null).Select(r => $"{r.Check}: {r.Note}").ToList(),
        };
    }
}
