using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MailCloud.Dns;

namespace MailCloud.Pipeline.Authentication;

public enum SpfResult
{
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

/// <summary>
/// SPF check_host() (RFC 7208): ip4, ip6, a, mx, include, exists, all, redirect=, macros (%{s l o d i h v} with
/// digit/reverse transformers), the 10-lookup and 2-void-lookup limits. ptr is treated as not matching (RFC 7208
/// 5.5 says not to use it) and exp= is ignored (we never reject in SMTP with its text).
/// </summary>
public sealed class SpfEvaluator(DnsResolver dns)
{
    private sealed class State
    {
        public int Lookups;
        public int VoidLookups;
    }

    private sealed class LimitException(string message) : Exception(message);

    public async Task<(SpfResult Result, string? Reason)> CheckAsync(IPAddress ip, string domain, string sender, string helo, CancellationToken ct)
    {
        try
        {
            return (await CheckHostAsync(ip, domain.TrimEnd('.').ToLowerInvariant(), sender, helo, new State(), 0, ct).ConfigureAwait(false), null);
        }
        catch (LimitException e)
        {
            return (SpfResult.PermError, e.Message);
        }
        catch (Exception e) when (e is FormatException or OverflowException or IndexOutOfRangeException or ArgumentException)
        {
            return (SpfResult.PermError, "malformed SPF record");
        }
    }

    private async Task<SpfResult> CheckHostAsync(IPAddress ip, string domain, string sender, string helo, State state, int depth, CancellationToken ct)
    {
        if (depth > 10)
            throw new LimitException("include/redirect nesting too deep");
        var answer = await dns.QueryAsync(domain, DnsType.TXT, ct).ConfigureAwait(false);
        if (answer.IsTemporaryFailure)
            return SpfResult.TempError;
        var records = answer.Data<string>().Where(t => t.Equals("v=spf1", StringComparison.OrdinalIgnoreCase) || t.StartsWith("v=spf1 ", StringComparison.OrdinalIgnoreCase)).ToList();
        if (records.Count == 0)
            return SpfResult.None;
        if (records.Count > 1)
            return SpfResult.PermError;
        string? redirect = null;
        foreach (var term in records[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            if (term.StartsWith("redirect=", StringComparison.OrdinalIgnoreCase))
            {
                redirect = term[9..];
                continue;
            }
            if (term.Contains('=', StringComparison.Ordinal) && !term.Contains(':', StringComparison.Ordinal))
                continue; // exp= and unknown modifiers
            var qualifier = term[0] is '+' or '-' or '~' or '?' ? term[0] : '+';
            var mechanism = qualifier == term[0] && term[0] is '+' or '-' or '~' or '?' ? term[1..] : term;
            var matched = await MatchAsync(mechanism, ip, domain, sender, helo, state, depth, ct).ConfigureAwait(false);
            if (matched is null)
                return SpfResult.TempError;
            if (matched == false)
                continue;
            return qualifier switch
            {
                '-' => SpfResult.Fail,
                '~' => SpfResult.SoftFail,
                '?' => SpfResult.Neutral,
                _ => SpfResult.Pass,
            };
        }
        if (redirect is not null)
        {
            Count(state);
            var target = Expand(redirect, ip, domain, sender, helo);
            var result = await CheckHostAsync(ip, target, sender, helo, state, depth + 1, ct).ConfigureAwait(false);
            return result == SpfResult.None ? SpfResult.PermError : result;
        }
        return SpfResult.Neutral;
    }

    private static void Count(State state)
    {
        if (++state.Lookups > 10)
            throw new LimitException("more than 10 DNS lookups");
    }

    /// <summary>True/false for a match; null for a temporary DNS failure.</summary>
    private async Task<bool?> MatchAsync(string mechanism, IPAddress ip, string domain, string sender, string helo, State state, int depth, CancellationToken ct)
    {
        var (name, argument) = mechanism.IndexOfAny([':', '/']) is var sep and >= 0 ? (mechanism[..sep].ToLowerInvariant(), mechanism[sep..]) : (mechanism.ToLowerInvariant(), string.Empty);
        string Target() => argument.StartsWith(':') ? Expand(argument[1..].Split('/')[0], ip, domain, sender, helo) : domain;
        var (cidr4, cidr6) = Cidrs(argument.StartsWith(':') ? argument[(argument.IndexOf('/', StringComparison.Ordinal) is var s and >= 0 ? s : argument.Length)..] : argument);
        switch (name)
        {
            case "all":
                return true;
            case "ip4" or "ip6":
                var text = argument.TrimStart(':');
                var slash = text.IndexOf('/', StringComparison.Ordinal);
                if (!IPAddress.TryParse(slash < 0 ? text : text[..slash], out var network))
                    throw new LimitException($"bad {name} mechanism");
                int prefix = slash < 0 ? (network.AddressFamily == AddressFamily.InterNetwork ? 32 : 128) : int.Parse(text[(slash + 1)..], CultureInfo.InvariantCulture);
                return InNetwork(ip, network, prefix);
            case "a":
                Count(state);
                return await AddressMatchAsync(Target(), ip, cidr4, cidr6, state, ct).ConfigureAwait(false);
            case "mx":
                Count(state);
                var mx = await dns.QueryAsync(Target(), DnsType.MX, ct).ConfigureAwait(false);
                if (mx.IsTemporaryFailure)
                    return null;
                if (mx.IsNameError || mx.IsNoData)
                    Void(state);
                foreach (var host in mx.Data<MxData>().Take(10))
                {
                    var hit = await AddressMatchAsync(host.Exchange, ip, cidr4, cidr6, state, ct).ConfigureAwait(false);
                    if (hit != false)
                        return hit;
                }
                return false;
            case "include":
                Count(state);
                var included = await CheckHostAsync(ip, Target(), sender, helo, state, depth + 1, ct).ConfigureAwait(false);
                return included switch
                {
                    SpfResult.Pass => true,
                    SpfResult.TempError => null,
                    SpfResult.PermError or SpfResult.None => throw new LimitException($"include:{Target()} has no usable SPF record"),
                    _ => false,
                };
            case "exists":
                Count(state);
                var exists = await dns.QueryAsync(Target(), DnsType.A, ct).ConfigureAwait(false);
                if (exists.IsTemporaryFailure)
                    return null;
                if (!exists.Data<IPAddress>().Any())
                {
                    Void(state);
                    return false;
                }
                return true;
            case "ptr":
                Count(state);
                return false;
            default:
                throw new LimitException($"unknown mechanism {name}");
        }
    }

    private static void Void(State state)
    {
        if (++state.VoidLookups > 2)
            throw new LimitException("more than 2 void lookups");
    }

    private async Task<bool?> AddressMatchAsync(string host, IPAddress ip, int cidr4, int cidr6, State state, CancellationToken ct)
    {
        var type = ip.AddressFamily == AddressFamily.InterNetwork ? DnsType.A : DnsType.AAAA;
        var answer = await dns.QueryAsync(host, type, ct).ConfigureAwait(false);
        if (answer.IsTemporaryFailure)
            return null;
        var addresses = answer.Data<IPAddress>().ToList();
        if (addresses.Count == 0)
            Void(state);
        return addresses.Any(a => InNetwork(ip, a, type == DnsType.A ? cidr4 : cidr6));
    }

    private static (int V4, int V6) Cidrs(string text)
    {
        int v4 = 32, v6 = 128;
        var parts = text.Split('/');
        if (parts.Length >= 2 && parts[1].Length > 0)
            v4 = int.Parse(parts[1], CultureInfo.InvariantCulture);
        if (parts.Length >= 3 && parts[2].Length > 0)
            v6 = int.Parse(parts[2], CultureInfo.InvariantCulture);
        else if (parts.Length >= 4 && parts[3].Length > 0)
            v6 = int.Parse(parts[3], CultureInfo.InvariantCulture);
        return (v4, v6);
    }

    internal static bool InNetwork(IPAddress ip, IPAddress network, int prefix)
    {
        if (ip.IsIPv4MappedToIPv6)
            ip = ip.MapToIPv4();
        if (ip.AddressFamily != network.AddressFamily)
            return false;
        var a = ip.GetAddressBytes();
        var b = network.GetAddressBytes();
        for (int i = 0; i < a.Length && prefix > 0; i++, prefix -= 8)
        {
            int mask = prefix >= 8 ? 0xFF : 0xFF << (8 - prefix) & 0xFF;
            if ((a[i] & mask) != (b[i] & mask))
                return false;
        }
        return true;
    }

    /// <summary>Macro expansion (RFC 7208 7): %{s l o d i h v} with optional digits and 'r', and %%, %_, %-.</summary>
    internal static string Expand(string spec, IPAddress ip, string domain, string sender, string helo)
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
            if (next != '{')
                throw new LimitException("bad macro");
            int close = spec.IndexOf('}', i);
            if (close < 0)
                throw new LimitException("bad macro");
            var body = spec[(i + 1)..close];
            i = close;
            var letter = char.ToLowerInvariant(body[0]);
            var at = sender.LastIndexOf('@');
            string value = letter switch
            {
                's' => sender,
                'l' => at > 0 ? sender[..at] : "postmaster",
                'o' => at >= 0 ? sender[(at + 1)..] : sender,
                'd' => domain,
                'i' => ip.AddressFamily == AddressFamily.InterNetwork ? ip.ToString() : string.Join('.', Convert.ToHexString(ip.GetAddressBytes()).ToLowerInvariant().ToCharArray()),
                'h' => helo,
                'v' => ip.AddressFamily == AddressFamily.InterNetwork ? "in-addr" : "ip6",
                _ => throw new LimitException("bad macro letter"),
            };
            var rest = body[1..];
            int digits = 0;
            int d = 0;
            while (d < rest.Length && char.IsAsciiDigit(rest[d]))
                digits = digits * 10 + (rest[d++] - '0');
            bool reverse = d < rest.Length && char.ToLowerInvariant(rest[d]) == 'r';
            var delimiters = rest[(reverse ? d + 1 : d)..];
            var parts = value.Split(delimiters.Length == 0 ? ['.'] : delimiters.ToCharArray()).ToList();
            if (reverse)
                parts.Reverse();
            if (digits > 0 && digits < parts.Count)
                parts = parts[^digits..];
            sb.Append(string.Join('.', parts));
        }
        return sb.ToString();
    }
}
