namespace MailCloud.Smtp;

/// <summary>Where a session stands in the RFC 5321 command sequence.</summary>
public enum SmtpState
{
    /// <summary>Greeting sent; HELO/EHLO not yet.</summary>
    Connected,

    /// <summary>After HELO/EHLO or RSET or a finished transaction: ready for MAIL.</summary>
    Ready,

    /// <summary>MAIL accepted, no recipient yet.</summary>
    HaveSender,

    /// <summary>At least one RCPT accepted.</summary>
    HaveRecipients,

    /// <summary>BDAT chunks arriving (CHUNKING): only BDAT, RSET, NOOP and QUIT are valid.</summary>
    Chunking,
}

/// <summary>
/// The command sequence as data: which verbs a state admits. Anything else gets 503 5.5.1 and the session goes on.
/// What a verb does to the state is the session's business; this table only says what may come next.
/// </summary>
public static class SmtpStateTable
{
    private static readonly SmtpVerb[] Anytime = [SmtpVerb.Noop, SmtpVerb.Quit, SmtpVerb.Rset, SmtpVerb.Help, SmtpVerb.Vrfy, SmtpVerb.Expn];

    private static readonly Dictionary<SmtpState, HashSet<SmtpVerb>> Allowed = new()
    {
        [SmtpState.Connected] = [.. Anytime, SmtpVerb.Helo, SmtpVerb.Ehlo],
        [SmtpState.Ready] = [.. Anytime, SmtpVerb.Helo, SmtpVerb.Ehlo, SmtpVerb.Mail, SmtpVerb.StartTls, SmtpVerb.Auth],
        [SmtpState.HaveSender] = [.. Anytime, SmtpVerb.Helo, SmtpVerb.Ehlo, SmtpVerb.Rcpt],
        [SmtpState.HaveRecipients] = [.. Anytime, SmtpVerb.Helo, SmtpVerb.Ehlo, SmtpVerb.Rcpt, SmtpVerb.Data, SmtpVerb.Bdat],
        [SmtpState.Chunking] = [SmtpVerb.Bdat, SmtpVerb.Rset, SmtpVerb.Noop, SmtpVerb.Quit],
    };

    public static bool IsAllowed(SmtpState state, SmtpVerb verb) => Allowed[state].Contains(verb);
}
