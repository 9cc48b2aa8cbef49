using System.Net;
using System.Net.Sockets;
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
    }

    private async Task<SpfResult> CheckHostAsync(IPAddress ip, string domain, string sender, string helo, State state, int depth, CancellationToken ct)
    {
        if (depth > 10)
            throw new LimitException("include/redirect nesting too deep");
        var answer = await dns.QueryAsync(domain, DnsType.TXT, ct).ConfigureAwait(false);
        if (answer.IsTemporaryFailure)
            return SpfResult.TempError;
        var records = answer.Data<string>().Where(SpfRecord.IsSpf).ToList();
        if (records.Count == 0)
            return SpfResult.None;
        if (records.Count > 1)
            return SpfResult.PermError;
        if (!SpfRecord.TryParse(records[0], out var record, out var error))
            throw new LimitException(error);
        foreach (var mechanism in record.Mechanisms)
        {
            var matched = await MatchAsync(mechanism, ip, domain, sender, helo, state, depth, ct).ConfigureAwait(false);
            if (matched is null)
                return SpfResult.TempError;
            if (matched == true)
                return mechanism.Result;
        }
        if (record.Redirect is not null)
        {
            Count(state);
            var target = SpfMacro.Expand(record.Redirect, ip, domain, sender, helo);
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
    private async Task<bool?> MatchAsync(SpfMechanism mechanism, IPAddress ip, string domain, string sender, string helo, State state, int depth, CancellationToken ct)
    {
        string Target() => mechanism.DomainSpec is { } spec ? SpfMacro.Expand(spec, ip, domain, sender, helo) : domain;
        switch (mechanism.Kind)
        {
            case SpfMechanismKind.All:
                return true;
            case SpfMechanismKind.Ip4:
                return InNetwork(ip, mechanism.Network!, mechanism.Cidr4);
            case SpfMechanismKind.Ip6:
                return InNetwork(ip, mechanism.Network!, mechanism.Cidr6);
            case SpfMechanismKind.A:
                Count(state);
                return await AddressMatchAsync(Target(), ip, mechanism.Cidr4, mechanism.Cidr6, state, ct).ConfigureAwait(false);
            case SpfMechanismKind.Mx:
                Count(state);
                var mx = await dns.QueryAsync(Target(), DnsType.MX, ct).ConfigureAwait(false);
                if (mx.IsTemporaryFailure)
                    return null;
                if (mx.IsNameError || mx.IsNoData)
                    Void(state);
                foreach (var host in mx.Data<MxData>().Take(10))
                {
                    var hit = await AddressMatchAsync(host.Exchange, ip, mechanism.Cidr4, mechanism.Cidr6, state, ct).ConfigureAwait(false);
                    if (hit != false)
                        return hit;
                }
                return false;
            case SpfMechanismKind.Include:
                Count(state);
                var included = await CheckHostAsync(ip, Target(), sender, helo, state, depth + 1, ct).ConfigureAwait(false);
                return included switch
                {
                    SpfResult.Pass => true,
                    SpfResult.TempError => null,
                    SpfResult.PermError or SpfResult.None => throw new LimitException($"include:{Target()} has no usable SPF record"),
                    _ => false,
                };
            case SpfMechanismKind.Exists:
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
            default: // ptr
                Count(state);
                return false;
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
}
