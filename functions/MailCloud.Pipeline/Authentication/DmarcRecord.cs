using System.Globalization;
using MailCloud.Dkim;

namespace MailCloud.Pipeline.Authentication;

/// <summary>
/// A DMARC policy record (RFC 7489 6.3) as far as MailCloud acts on it: v=DMARC1 first, a valid p=, and the
/// optional sp=, adkim=, aspf= and pct=. An invalid value of an optional tag is ignored (the default applies), as
/// 6.3 asks; a missing or invalid p= makes the record unusable.
/// </summary>
public sealed record DmarcRecord(string Policy, string? SubdomainPolicy, bool StrictDkim, bool StrictSpf, int Percent)
{
    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DmarcRecord? record)
    {
        record = null;
        var first = text.Split(';', 2)[0].Trim();
        int eq = first.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0 || first[..eq].Trim() != "v" || first[(eq + 1)..].Trim() != "DMARC1")
            return false;
        var tags = DkimVerifier.Tags(text);
        if (!tags.TryGetValue("p", out var p) || PolicyValue(p) is not { } policy)
            return false;
        string? sub = tags.TryGetValue("sp", out var sp) ? PolicyValue(sp) : null;
        int percent = tags.TryGetValue("pct", out var pct) && int.TryParse(pct, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 100 ? n : 100;
        record = new DmarcRecord(policy, sub, Strict(tags, "adkim"), Strict(tags, "aspf"), percent);
        return true;
    }

    private static string? PolicyValue(string value) => value.ToLowerInvariant() is "none" or "quarantine" or "reject" ? value.ToLowerInvariant() : null;

    private static bool Strict(Dictionary<string, string> tags, string name) => tags.TryGetValue(name, out var v) && v.Equals("s", StringComparison.OrdinalIgnoreCase);
}
