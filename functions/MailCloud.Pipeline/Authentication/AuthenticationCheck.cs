using System.Net;
using MailCloud.Data;
using MailCloud.Dkim;
using MailCloud.Dns;
using MailCloud.Mime;

namespace MailCloud.Pipeline.Authentication;

/// <summary>
/// SPF, DKIM and DMARC (RFC 7208, 6376/8463, 7489) for mail that came in over the MX: the results become the
/// message's Authentication-Results (RFC 8601) and a DMARC failure under a reject or quarantine policy sends the
/// message to Junk (it was already accepted, so it is not bounced). Mail from authenticated users and internal
/// mail (bounces) is not checked. DKIM needs the bytes: those the inbound stage kept, or one more blob read for a large message.
/// </summary>
public sealed class AuthenticationCheck(DnsResolver dns, IMessageContent messages, TimeProvider? time = null) : IMessageCheck
{
    /// <summary>Score for a DMARC failure under p=reject/quarantine: enough to go to Junk alone.</summary>
    public const double DmarcFailureScore = 10;

    public async Task<CheckResult> CheckAsync(MessageContext context, CancellationToken cancellationToken)
    {
        var envelope = context.Envelope;
        if (envelope.Listener != "mx" || envelope.AuthenticatedUser is not null)
            return new CheckResult("auth");
        var clauses = new List<string>();
        var notes = new List<string>();

        // SPF on the envelope sender (or the HELO name for the null sender).
        var senderDomain = envelope.Sender.Contains('@', StringComparison.Ordinal) ? envelope.Sender[(envelope.Sender.LastIndexOf('@') + 1)..] : envelope.Helo;
        var spfSender = envelope.Sender.Length > 0 ? envelope.Sender : $"postmaster@{envelope.Helo}";
        SpfResult spf = SpfResult.None;
        if (IPAddress.TryParse(envelope.ClientAddress, out var ip))
        {
            (spf, var reason) = await new SpfEvaluator(dns).CheckAsync(ip, senderDomain, spfSender, envelope.Helo, cancellationToken).ConfigureAwait(false);
            clauses.Add($"spf={spf.ToString().ToLowerInvariant()}{(reason is null ? string.Empty : $" ({reason})")} smtp.{(envelope.Sender.Length > 0 ? "mailfrom" : "helo")}={(envelope.Sender.Length > 0 ? envelope.Sender : envelope.Helo)}");
        }

        // DKIM: every signature (up to five).
        var dkim = new List<DkimVerification>();
        if (context.Message.GetHeader("DKIM-Signature") is not null)
        {
            var bytes = await context.ReadRawAsync(messages, cancellationToken).ConfigureAwait(false);
            dkim.AddRange(await DkimVerifier.VerifyAsync(bytes, LookupTxtAsync, (time ?? TimeProvider.System).GetUtcNow(), cancellationToken).ConfigureAwait(false));
        }
        clauses.AddRange(dkim.Count == 0 ? ["dkim=none"] : dkim.Select(d => d.ToAuthenticationResult()));

        // DMARC on the From domain.
        double score = spf switch { SpfResult.Fail => 2, SpfResult.SoftFail => 1, _ => 0 };
        var from = context.Message.From.OfType<MailboxAddress>().ToList();
        if (from.Count == 1 && from[0].Domain.Length > 0)
        {
            var fromDomain = from[0].Domain.TrimEnd('.').ToLowerInvariant();
            var dmarc = await Dmarc.EvaluateAsync(dns, fromDomain, spf == SpfResult.Pass ? senderDomain : null,
                dkim.Where(d => d.Result == DkimResult.Pass).Select(d => d.Domain).ToList(), cancellationToken).ConfigureAwait(false);
            clauses.Add(dmarc.ToAuthenticationResult(fromDomain));
            if (dmarc.Result == "fail" && dmarc.Policy is "reject" or "quarantine")
            {
                score += DmarcFailureScore;
                notes.Add($"DMARC failed for {fromDomain} (policy {dmarc.Policy})");
            }
        }
        return new CheckResult("auth", SpamScore: score, AuthenticationResult: string.Join("; ", clauses), Note: notes.Count == 0 ? null : string.Join("; ", notes));
    }

    private async Task<TxtAnswer> LookupTxtAsync(string name, CancellationToken cancellationToken)
    {
        var answer = await dns.QueryAsync(name, DnsType.TXT, cancellationToken).ConfigureAwait(false);
        if (answer.IsTemporaryFailure)
            return new TxtAnswer(null, TemporaryFailure: true);
        var records = answer.Data<string>().Where(t => t.Contains("p=", StringComparison.Ordinal)).ToList();
        return new TxtAnswer(records.Count == 1 ? records[0] : null);
    }
}
