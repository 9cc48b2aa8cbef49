using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MailCloud.Pipeline.Authentication;

public enum SpfMechanismKind
{
    All,
    Include,
    A,
    Mx,
    Ptr,
    Ip4,
    Ip6,
    Exists,
}

/// <summary>One directive of a record: qualifier, mechanism and its arguments, already checked.</summary>
public sealed record SpfMechanism(SpfResult Result, SpfMechanismKind Kind, string? DomainSpec = null, IPAddress? Network = null, int Cidr4 = 32, int Cidr6 = 128);

/// <summary>
/// An SPF record parsed by RFC 7208's grammar (section 12) before anything is evaluated: a syntax error anywhere is a
/// permerror for the whole record (4.6), so evaluation never meets a malformed term half way.
/// </summary>
public sealed record SpfRecord(IReadOnlyList<SpfMechanism> Mechanisms, string? Redirect)
{
    /// <summary>The version tag as it must start a record ("v=spf1", then a space or the end).</summary>
    public static bool IsSpf(string text) =>
        text.Equals("v=spf1", StringComparison.OrdinalIgnoreCase) || text.StartsWith("v=spf1 ", StringComparison.OrdinalIgnoreCase);

    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SpfRecord? record, out string error)
    {
        record = null;
        if (!IsSpf(text))
        {
            error = "not an SPF record";
            return false;
        }
        var mechanisms = new List<SpfMechanism>();
        string? redirect = null;
        bool explanation = false;
        foreach (var term in text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            int eq = term.IndexOf('=', StringComparison.Ordinal);
            int sep = term.IndexOfAny([':', '/']);
            if (eq > 0 && (sep < 0 || eq < sep))
            {
                var name = term[..eq];
                var value = term[(eq + 1)..];
                if (!IsName(name))
                    return Fail($"bad modifier name '{name}'", out error);
                if (!SpfMacro.IsValid(value, explanation: false))
                    return Fail($"bad macro in {name}=", out error);
                if (name.Equals("redirect", StringComparison.OrdinalIgnoreCase))
                {
                    if (redirect is not null || value.Length == 0)
                        return Fail("redirect= given twice or empty", out error);
                    redirect = value;
                }
                else if (name.Equals("exp", StringComparison.OrdinalIgnoreCase))
                {
                    if (explanation)
                        return Fail("exp= given twice", out error);
                    explanation = true;
                }
                continue; // unknown modifiers are ignored (6)
            }
            if (!TryMechanism(term, out var mechanism, out error))
                return false;
            mechanisms.Add(mechanism);
        }
        record = new SpfRecord(mechanisms, redirect);
        error = string.Empty;
        return true;
    }

    private static bool TryMechanism(string term, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SpfMechanism? mechanism, out string error)
    {
        mechanism = null;
        var result = term[0] switch
        {
            '-' => SpfResult.Fail,
            '~' => SpfResult.SoftFail,
            '?' => SpfResult.Neutral,
            _ => SpfResult.Pass,
        };
        var body = term[0] is '+' or '-' or '~' or '?' ? term[1..] : term;
        int sep = body.IndexOfAny([':', '/']);
        var name = (sep < 0 ? body : body[..sep]).ToLowerInvariant();
        var argument = sep < 0 ? string.Empty : body[sep..];
        SpfMechanismKind? kind = name switch
        {
            "all" => SpfMechanismKind.All,
            "include" => SpfMechanismKind.Include,
            "a" => SpfMechanismKind.A,
            "mx" => SpfMechanismKind.Mx,
            "ptr" => SpfMechanismKind.Ptr,
            "ip4" => SpfMechanismKind.Ip4,
            "ip6" => SpfMechanismKind.Ip6,
            "exists" => SpfMechanismKind.Exists,
            _ => null,
        };
        if (kind is null)
            return Fail($"unknown mechanism '{name}'", out error);
        switch (kind.Value)
        {
            case SpfMechanismKind.All:
                if (argument.Length > 0)
                    return Fail("all takes no argument", out error);
                mechanism = new SpfMechanism(result, kind.Value);
                break;
            case SpfMechanismKind.Ip4 or SpfMechanismKind.Ip6:
                if (!argument.StartsWith(':'))
                    return Fail($"{name} needs an address", out error);
                var text = argument[1..];
                int slash = text.IndexOf('/', StringComparison.Ordinal);
                var family = kind == SpfMechanismKind.Ip4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
                int max = family == AddressFamily.InterNetwork ? 32 : 128;
                if (!IPAddress.TryParse(slash < 0 ? text : text[..slash], out var network) || network.AddressFamily != family
                    || family == AddressFamily.InterNetwork && (slash < 0 ? text : text[..slash]).Count(c => c == '.') != 3)
                    return Fail($"bad {name} address", out error);
                int prefix = max;
                if (slash >= 0 && !TryCidr(text[(slash + 1)..], max, out prefix))
                    return Fail($"bad {name} prefix length", out error);
                mechanism = family == AddressFamily.InterNetwork
                    ? new SpfMechanism(result, kind.Value, Network: network, Cidr4: prefix)
                    : new SpfMechanism(result, kind.Value, Network: network, Cidr6: prefix);
                break;
            default:
                string? domain = null;
                var rest = argument;
                if (rest.StartsWith(':'))
                {
                    int cut = rest.IndexOf('/', StringComparison.Ordinal);
                    domain = cut < 0 ? rest[1..] : rest[1..cut];
                    rest = cut < 0 ? string.Empty : rest[cut..];
                    if (domain.Length == 0 || !SpfMacro.IsValid(domain, explanation: false))
                        return Fail($"bad domain in {name}", out error);
                }
                bool needsDomain = kind is SpfMechanismKind.Include or SpfMechanismKind.Exists;
                if (needsDomain && domain is null)
                    return Fail($"{name} needs a domain", out error);
                int v4 = 32, v6 = 128;
                if (rest.Length > 0)
                {
                    if (kind is not (SpfMechanismKind.A or SpfMechanismKind.Mx) || !TryDualCidr(rest, out v4, out v6))
                        return Fail($"bad prefix length in {name}", out error);
                }
                mechanism = new SpfMechanism(result, kind.Value, domain, Cidr4: v4, Cidr6: v6);
                break;
        }
        error = string.Empty;
        return true;
    }

    /// <summary>"/24", "//64" or "/24//64" (dual-cidr-length).</summary>
    private static bool TryDualCidr(string text, out int v4, out int v6)
    {
        v4 = 32;
        v6 = 128;
        if (text.StartsWith("//", StringComparison.Ordinal))
            return TryCidr(text[2..], 128, out v6);
        if (!text.StartsWith('/'))
            return false;
        var body = text[1..];
        int dual = body.IndexOf("//", StringComparison.Ordinal);
        if (dual < 0)
            return TryCidr(body, 32, out v4);
        return TryCidr(body[..dual], 32, out v4) && TryCidr(body[(dual + 2)..], 128, out v6);
    }

    /// <summary>"0" or a number without a leading zero, at most <paramref name="max"/>.</summary>
    private static bool TryCidr(string text, int max, out int value)
    {
        value = 0;
        if (text.Length is 0 or > 3 || !text.All(char.IsAsciiDigit) || text.Length > 1 && text[0] == '0')
            return false;
        value = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return value <= max;
    }

    private static bool IsName(string name) =>
        name.Length > 0 && char.IsAsciiLetter(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static bool Fail(string message, out string error)
    {
        error = message;
        return false;
    }
}
