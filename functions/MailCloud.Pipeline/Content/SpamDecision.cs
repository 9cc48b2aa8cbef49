using MailCloud.Core;

namespace MailCloud.Pipeline;

/// <summary>Where a message goes for one recipient domain.</summary>
public enum Disposition
{
    Inbox,
    Junk,

    /// <summary>Held back: quarantined for MX mail, bounced to an authenticated sender.</summary>
    Quarantine,
}

/// <summary>
/// Turns a verdict into a disposition. A domain with its own thresholds (<see cref="SpamPolicy"/>) is decided on the
/// total score alone. Otherwise rspamd's action decides — reject → quarantine; add header, rewrite subject and soft
/// reject → Junk; greylist and no action → INBOX (the message was accepted already, so a greylist or a soft reject
/// cannot be answered to the sender any more) — and MailCloud's own checks (DMARC failure, block lists, the
/// built-in scorer) send it to Junk at <see cref="DefaultJunkScore"/>.
/// </summary>
public static class SpamDecision
{
    public const double DefaultJunkScore = 5;

    public static Disposition Decide(Verdict verdict, SpamPolicy? policy)
    {
        if (policy is not null)
        {
            if (policy.QuarantineScore is { } q && verdict.SpamScore >= q)
                return Disposition.Quarantine;
            return verdict.SpamScore >= policy.JunkScore ? Disposition.Junk : Disposition.Inbox;
        }
        var byAction = verdict.EngineAction switch
        {
            "reject" => Disposition.Quarantine,
            "add header" or "rewrite subject" or "soft reject" => Disposition.Junk,
            _ => Disposition.Inbox,
        };
        var own = verdict.SpamScore - verdict.EngineScore;
        var byScore = own >= DefaultJunkScore ? Disposition.Junk : Disposition.Inbox;
        return byAction > byScore ? byAction : byScore;
    }

    /// <summary>The junk threshold the headers report (the engine's own when it decides).</summary>
    public static double? Required(Verdict verdict, SpamPolicy? policy) =>
        policy?.JunkScore ?? (verdict.EngineAction is null ? DefaultJunkScore : null);
}
