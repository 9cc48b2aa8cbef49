using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MailCloud.Pipeline.Authentication;

/// <summary>SPF macro strings (RFC 7208 7): checked when the record is parsed, expanded when a term is evaluated.</summary>
public static class SpfMacro
{
    private const string Delimiters = ".-+,/_=";

    /// <summary>Does <paramref name="spec"/> follow the macro-string grammar? c, r and t are only allowed in exp= text.</summary>
    public static bool IsValid(string spec, bool explanation)
    {
        for (int i = 0; i < spec.Length; i++)
        {
            char ch = spec[i];
            if (ch is < '!' or > '~')
                return false;
            if (ch != '%')
                continue;
            if (++i >= spec.Length)
                return false;
            if (spec[i] is '%' or '_' or '-')
                continue;
            if (spec[i] != '{' || ++i >= spec.Length)
                return false;
            var letter = char.ToLowerInvariant(spec[i]);
            if (!("slodiphv".Contains(letter) || explanation && "crt".Contains(letter)))
                return false;
            i++;
            int digits = 0;
            int value = 0;
            while (i < spec.Length && char.IsAsciiDigit(spec[i]))
            {
                if (++digits > 3)
                    return false;
                value = value * 10 + (spec[i++] - '0');
            }
            if (digits > 0 && value == 0)
                return false;
            if (i < spec.Length && spec[i] is 'r' or 'R')
                i++;
            while (i < spec.Length && Delimiters.Contains(spec[i]))
                i++;
            if (i >= spec.Length || spec[i] != '}')
                return false;
        }
        return true;
    }

    /// <summary>
    /// Expands a macro string that <see cref="IsValid"/> accepted; a name longer than 253 characters loses labels on
    /// the left (7.3). Anything it does not understand is copied as it stands rather than thrown on.
    /// </summary>
    public static string Expand(string spec, IPAddress ip, string domain, string sender, string helo)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < spec.Length; i++)
        {
            if (spec[i] != '%' || i + 1 >= spec.Length)
            {
                sb.Append(spec[i]);
                continue;
            }
            var next = spec[++i];
            if (next == '%') { sb.Append('%'); continue; }
            if (next == '_') { sb.Append(' '); continue; }
            if (next == '-') { sb.Append("%20"); continue; }
            int close = next == '{' ? spec.IndexOf('}', i) : -1;
            if (close < i + 2)
            {
                sb.Append('%').Append(next);
                continue;
            }
            var body = spec[(i + 1)..close];
            i = close;
            sb.Append(Transform(Value(char.ToLowerInvariant(body[0]), ip, domain, sender, helo), body[1..]));
        }
        return Truncate(sb.ToString());
    }

    private static string Value(char letter, IPAddress ip, string domain, string sender, string helo)
    {
        var at = sender.LastIndexOf('@');
        return letter switch
        {
            's' => sender,
            'l' => at > 0 ? sender[..at] : "postmaster",
            'o' => at >= 0 ? sender[(at + 1)..] : sender,
            'd' => domain,
            'i' => ip.AddressFamily == AddressFamily.InterNetwork ? ip.ToString() : string.Join('.', Convert.ToHexString(ip.GetAddressBytes()).ToLowerInvariant().ToCharArray()),
            'h' => helo,
            'v' => ip.AddressFamily == AddressFamily.InterNetwork ? "in-addr" : "ip6",
            'c' => ip.ToString(),
            'r' => "unknown",
            't' => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => "unknown", // p: we never validate PTR names (5.5)
        };
    }

    /// <summary>Digits keep that many parts from the right, 'r' reverses, delimiters (default '.') split.</summary>
    private static string Transform(string value, string rest)
    {
        int digits = 0;
        int d = 0;
        while (d < rest.Length && char.IsAsciiDigit(rest[d]) && d < 3)
            digits = digits * 10 + (rest[d++] - '0');
        bool reverse = d < rest.Length && char.ToLowerInvariant(rest[d]) == 'r';
        var delimiters = rest[(reverse ? d + 1 : d)..].Where(c => Delimiters.Contains(c)).ToArray();
        var parts = value.Split(delimiters.Length == 0 ? ['.'] : delimiters).ToList();
        if (reverse)
            parts.Reverse();
        if (digits > 0 && digits < parts.Count)
            parts = parts[^digits..];
        return string.Join('.', parts);
    }

    private static string Truncate(string name)
    {
        while (name.Length > 253)
        {
            int dot = name.IndexOf('.', StringComparison.Ordinal);
            if (dot < 0)
                return name[^253..];
            name = name[(dot + 1)..];
        }
        return name;
    }
}
