namespace MailCloud.Smtp;

public enum SmtpVerb
{
    Helo,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Expn,
    Help,
    StartTls,
    Auth,
}

/// <summary>
/// A parsed command. <see cref="Path"/> is the mailbox of MAIL/RCPT (empty string for the null reverse-path),
/// <see cref="Parameters"/> the ESMTP parameters (keys upper-case, xtext already decoded where the RFC says so).
/// </summary>
public sealed record SmtpCommand(SmtpVerb Verb, string Argument, string? Path = null, IReadOnlyDictionary<string, string?>? Parameters = null)
{
    public string? Parameter(string name) => Parameters is not null && Parameters.TryGetValue(name, out var v) ? v : null;
    public bool HasParameter(string name) => Parameters?.ContainsKey(name) == true;
}
