using System.Globalization;
using System.Text;
using MailCloud.Core;
using MailCloud.Mime;

namespace MailCloud.Pipeline;

/// <summary>
/// The header lines a delivered copy gets in front of the stored message (the blob is never rewritten): the RFC 8601
/// Authentication-Results with this server's authserv-id, the spam verdict (X-Spam-Flag/-Score/-Status) and the
/// virus scanner's (X-Virus-Scanned). Folded at spaces near 78 characters; every line ends in CRLF.
/// </summary>
public static class VerdictHeaders
{
    public static byte[] Build(Verdict verdict, Disposition disposition, SpamPolicy? policy)
    {
        var sb = new StringBuilder();
        Field(sb, "Authentication-Results", verdict.AuthenticationResults.Split("; "), "; ");
        bool spam = disposition != Disposition.Inbox;
        if (spam)
            sb.Append("X-Spam-Flag: YES\r\n");
        var score = verdict.SpamScore.ToString("0.0", CultureInfo.InvariantCulture);
        sb.Append("X-Spam-Score: ").Append(score).Append("\r\n");
        var status = new List<string> { $"{(spam ? "Yes" : "No")}, score={score}" };
        if (SpamDecision.Required(verdict, policy) is { } required)
            status.Add("required=" + required.ToString("0.0", CultureInfo.InvariantCulture));
        status.Add("engine=" + verdict.Engine);
        if (verdict.EngineAction is { } action)
            status.Add($"action=\"{action}\"");
        if (verdict.Unscanned)
            status.Add("unscanned");
        if (verdict.Symbols.Count > 0)
            status.Add("tests=" + string.Join(", ", verdict.Symbols.Take(40)));
        Field(sb, "X-Spam-Status", status, " ");
        if (verdict.VirusScan is { } scan)
            sb.Append("X-Virus-Scanned: clamd; ").Append(scan).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>One header field, folded at spaces near 78 columns (the MIME builder's folding).</summary>
    private static void Field(StringBuilder sb, string name, IEnumerable<string> items, string separator) =>
        sb.Append(HeaderFolding.Format(name, string.Join(separator, items.Select(Clean).Where(i => i.Length > 0))));

    /// <summary>No line breaks or control characters from engine output inside a header, and no line over the RFC 5322 limit.</summary>
    private static string Clean(string value)
    {
        var s = new string(value.Select(c => char.IsControl(c) ? ' ' : c).ToArray()).Trim();
        return s.Length <= 900 ? s : s[..900];
    }
}
