using System.Globalization;
using System.Text;

namespace MailCloud.Core;

/// <summary>
/// An RFC 5321 mailbox (local-part@domain) as used in envelopes and the directory. The domain is kept in its
/// ASCII (A-label) form so lookups match however the sender spelled it; the local part may be UTF-8 (RFC 6531).
/// Parsing refuses the forms that enable relay tricks: source routes, '%' or '!' routing, and '@' inside quotes.
/// </summary>
public sealed class MailAddress : IEquatable<MailAddress>
{
    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    private MailAddress(string localPart, string domain)
    {
        LocalPart = localPart;
        Domain = domain;
    }

    /// <summary>The local part as given (quotes removed for quoted strings).</summary>
    public string LocalPart { get; }

    /// <summary>The domain in lower-case ASCII (punycode for IDNs).</summary>
    public string Domain { get; }

    /// <summary>The case-folded local part used as a key: lookups are case-insensitive as users expect.</summary>
    public string LocalKey => LocalPart.Normalize(NormalizationForm.FormC).ToLowerInvariant();

    public string Address => $"{FormatLocal(LocalPart)}@{Domain}";

    public override string ToString() => Address;

    public bool Equals(MailAddress? other) =>
        other is not null && string.Equals(LocalKey, other.LocalKey, StringComparison.Ordinal) && string.Equals(Domain, other.Domain, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is MailAddress a && Equals(a);
    public override int GetHashCode() => HashCode.Combine(LocalKey, Domain);

    public static MailAddress Parse(string text) =>
        TryParse(text, out var address, out var error) ? address : throw new FormatException(error);

    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MailAddress? address) =>
        TryParse(text, out address, out _);

    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MailAddress? address, out string error)
    {
        address = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "empty address";
            return false;
        }
        text = text.Trim();
        if (text.Length > 320)
        {
            error = "address too long";
            return false;
        }
        if (text[0] == '@')
        {
            error = $"'{text}': source routes are not accepted";
            return false;
        }
        int at = text.LastIndexOf('@');
        if (at <= 0 || at == text.Length - 1)
        {
            error = $"'{text}' is not of the form local-part@domain";
            return false;
        }
        var localRaw = text[..at];
        var domainRaw = text[(at + 1)..];
        if (!TryParseLocal(localRaw, out var local, out error))
        {
            error = $"'{text}': {error}";
            return false;
        }
        if (!TryNormalizeDomain(domainRaw, out var domain, out error))
        {
            error = $"'{text}': {error}";
            return false;
        }
        address = new MailAddress(local, domain);
        error = string.Empty;
        return true;
    }

    /// <summary>Validates a host name and returns its lower-case A-label form.</summary>
    public static bool TryNormalizeDomain(string? domain, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? ascii, out string error)
    {
        ascii = null;
        error = string.Empty;
        domain = domain?.Trim().TrimEnd('.');
        if (string.IsNullOrEmpty(domain))
        {
            error = "empty domain";
            return false;
        }
        if (domain.StartsWith('['))
        {
            error = "address literals are not accepted";
            return false;
        }
        try
        {
            ascii = Idn.GetAscii(domain).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            error = $"'{domain}' is not a valid domain name";
            return false;
        }
        if (ascii.Length > 253 || !ascii.Contains('.', StringComparison.Ordinal))
        {
            error = $"'{domain}' is not a fully qualified domain name";
            ascii = null;
            return false;
        }
        foreach (var label in ascii.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' || !label.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                error = $"'{domain}' is not a valid domain name";
                ascii = null;
                return false;
            }
        }
        return true;
    }

    private static bool TryParseLocal(string raw, out string local, out string error)
    {
        local = string.Empty;
        error = string.Empty;
        if (raw.Length > 64 && Encoding.UTF8.GetByteCount(raw) > 64)
        {
            error = "local part longer than 64 octets";
            return false;
        }
        if (raw.Length >= 2 && raw[0] == '"' && raw[^1] == '"')
        {
            var sb = new StringBuilder();
            for (int i = 1; i < raw.Length - 1; i++)
            {
                char c = raw[i];
                if (c == '\\' && i + 1 < raw.Length - 1)
                    c = raw[++i];
                else if (c is '"' or '\\')
                {
                    error = "malformed quoted local part";
                    return false;
                }
                if (c < 0x20 || c == 0x7f)
                {
                    error = "control character in local part";
                    return false;
                }
                sb.Append(c);
            }
            local = sb.ToString();
            if (local.Length == 0)
            {
                error = "empty local part";
                return false;
            }
        }
        else
        {
            // Dot-atom: atext and single dots, no leading/trailing dot.
            if (raw[0] == '.' || raw[^1] == '.' || raw.Contains("..", StringComparison.Ordinal))
            {
                error = "misplaced '.' in local part";
                return false;
            }
            foreach (char c in raw)
            {
                if (!IsAtext(c) && c != '.')
                {
                    error = $"character '{c}' is not allowed in an unquoted local part";
                    return false;
                }
            }
            local = raw;
        }
        // Routing characters: a quoted '@', '%' (percent hack) or '!' (bang path) must never turn into relaying.
        if (local.Contains('@', StringComparison.Ordinal) || local.Contains('%', StringComparison.Ordinal) || local.Contains('!', StringComparison.Ordinal))
        {
            error = "routing characters ('@', '%', '!') in the local part are not accepted";
            return false;
        }
        return true;
    }

    private static bool IsAtext(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
            or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '/' or '=' or '?' or '^' or '_' or '`' or '{' or '|' or '}' or '~'
        || c >= 0x80 && !char.IsControl(c) && !char.IsWhiteSpace(c); // UTF-8 (RFC 6531)

    private static string FormatLocal(string local)
    {
        bool dotAtom = local.Length > 0 && local[0] != '.' && local[^1] != '.' && !local.Contains("..", StringComparison.Ordinal) && local.All(c => IsAtext(c) || c == '.');
        if (dotAtom)
            return local;
        var sb = new StringBuilder("\"");
        foreach (char c in local)
        {
            if (c is '"' or '\\')
                sb.Append('\\');
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }
}
