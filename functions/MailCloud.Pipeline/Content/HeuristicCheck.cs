using System.Globalization;
using MailCloud.Core;
using MailCloud.Mime;

namespace MailCloud.Pipeline.Content;

/// <summary>
/// The built-in content scorer, for a server without rspamd: a few cheap rules that catch the obvious cases, each with
/// a symbol in X-Spam-Status. It runs on mail from the MX only (authenticated users' own mail is not scored) and adds
/// to what SPF/DKIM/DMARC and the block lists already gave. What it does not do: look at words, URLs or images,
/// learn, or know bulk senders' reputation — that is rspamd's job.
/// </summary>
public sealed class HeuristicCheck(IMailDirectory directory) : IMessageCheck
{
    /// <summary>Attachments that run code when opened on Windows: mail's classic malware carriers.</summary>
    private static readonly HashSet<string> Executable = new(StringComparer.OrdinalIgnoreCase)
    {
        "exe", "scr", "com", "pif", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "cpl", "msi", "msc", "lnk", "jar", "ps1", "reg", "dll",
    };

    /// <summary>Office formats with macros: often malicious, sometimes real.</summary>
    private static readonly HashSet<string> Macro = new(StringComparer.OrdinalIgnoreCase) { "docm", "xlsm", "pptm", "dotm", "xlam" };

    public const double MissingDate = 1.0, MissingMessageId = 1.5, ForgedOwnDomain = 6.0, ManyRecipients = 2.0, ExecutableAttachment = 6.0, MacroAttachment = 2.0, EmptySubject = 0.5;

    public async Task<CheckResult> CheckAsync(MessageContext context, CancellationToken cancellationToken)
    {
        var envelope = context.Envelope;
        if (envelope.Listener != "mx" || envelope.AuthenticatedUser is not null || context.Released)
            return new CheckResult("builtin");
        var message = context.Message;
        var hits = new List<(string Symbol, double Score)>();
        if (message.GetHeader("Date") is null)
            hits.Add(("MISSING_DATE", MissingDate));
        if (message.GetHeader("Message-ID") is null)
            hits.Add(("MISSING_MID", MissingMessageId));
        if (string.IsNullOrWhiteSpace(message.Subject))
            hits.Add(("EMPTY_SUBJECT", EmptySubject));
        if (envelope.Recipients.Count > 50 || message.To.Count + AddressParser.ParseList(message.GetHeader("Cc")?.Value).Count > 50)
            hits.Add(("MANY_RECIPIENTS", ManyRecipients));

        // A From in a domain hosted here that arrived from outside without passing SPF or DKIM for that domain.
        if (message.From.OfType<MailboxAddress>().FirstOrDefault() is { Domain.Length: > 0 } from
            && await directory.GetDomainAsync(from.Domain.TrimEnd('.'), cancellationToken).ConfigureAwait(false) is not null
            && !Aligned(context.Earlier, from.Domain.TrimEnd('.')))
            hits.Add(("FORGED_LOCAL_FROM", ForgedOwnDomain));

        foreach (var part in message.Walk())
        {
            var ext = Extensions(part.FileName);
            if (ext.Any(Executable.Contains))
            {
                hits.Add(("EXECUTABLE_ATTACHMENT", ExecutableAttachment));
                break;
            }
            if (ext.Any(Macro.Contains))
            {
                hits.Add(("MACRO_ATTACHMENT", MacroAttachment));
                break;
            }
        }
        return new CheckResult("builtin", SpamScore: hits.Sum(h => h.Score))
        {
            Symbols = hits.OrderByDescending(h => h.Score).Select(h => $"{h.Symbol}({h.Score.ToString("0.0", CultureInfo.InvariantCulture)})").ToList(),
        };
    }

    /// <summary>SPF passed for a sender in the domain or a DKIM signature of the domain verified (the authentication check's clauses).</summary>
    internal static bool Aligned(IReadOnlyList<CheckResult> earlier, string domain)
    {
        foreach (var clause in earlier.Select(r => r.AuthenticationResult).Where(a => a is not null).SelectMany(a => a!.Split("; ")))
        {
            if (clause.StartsWith("dmarc=pass", StringComparison.Ordinal))
                return true;
            if (clause.StartsWith("dkim=pass", StringComparison.Ordinal) && clause.Contains($"header.d={domain}", StringComparison.OrdinalIgnoreCase))
                return true;
            if (clause.StartsWith("spf=pass", StringComparison.Ordinal) && clause.EndsWith("@" + domain, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    /// <summary>Every extension of a file name ("invoice.pdf.exe" → pdf, exe), so a double extension is caught too.</summary>
    internal static IReadOnlyList<string> Extensions(string? fileName)
    {
        if (string.IsNullOrEmpty(fileName))
            return [];
        var name = fileName.Trim().TrimEnd('.', ' ');
        var parts = name.Split('.');
        return parts.Length < 2 ? [] : parts[1..];
    }
}
