using System.Net;
using System.Net.Sockets;
using MailCloud.Dns;

namespace MailCloud.Pipeline.Authentication;

/// <summary>
/// DNS block lists (RFC 5782) for the connecting address of mail from the MX: a listing in any configured zone
/// (<c>MAILCLOUD_DNSBL</c>, comma-separated, e.g. <c>zen.spamhaus.org</c>) adds <see cref="ListedScore"/>, enough for
/// Junk. A lookup that fails scores nothing (mail is never junked because a list was unreachable). Off by default:
/// public lists refuse queries from big shared resolvers and cloud ranges, so an operator chooses one and its
/// access terms.
/// </summary>
public sealed class DnsblCheck(DnsResolver dns, IReadOnlyList<string> zones) : IMessageCheck
{
    public const double ListedScore = 6;

    public static IReadOnlyList<string> ZonesFromEnvironment(Func<string, string?>? env = null) =>
        ((env ?? Environment.GetEnvironmentVariable)("MAILCLOUD_DNSBL") ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public async Task<CheckResult> CheckAsync(MessageContext context, CancellationToken cancellationToken)
    {
        var envelope = context.Envelope;
        if (zones.Count == 0 || envelope.Listener != "mx" || envelope.AuthenticatedUser is not null
            || !IPAddress.TryParse(envelope.ClientAddress, out var ip) || IPAddress.IsLoopback(ip))
            return new CheckResult("dnsbl");
        var listed = new List<string>();
        foreach (var zone in zones)
        {
            var answer = await dns.QueryAsync(ReversedName(ip) + "." + zone, DnsType.A, cancellationToken).ConfigureAwait(false);
            // RFC 5782: listed means an A record in 127.0.0.0/8; other answers (errors, refusals) are not listings.
            if (answer.Data<IPAddress>().Any(a => a.AddressFamily == AddressFamily.InterNetwork && a.GetAddressBytes()[0] == 127))
                listed.Add(zone);
        }
        return listed.Count == 0
            ? new CheckResult("dnsbl")
            : new CheckResult("dnsbl", SpamScore: ListedScore, Note: $"{ip} is listed in {string.Join(", ", listed)}");
    }

    /// <summary>1.2.0.192 for 192.0.2.1; nibbles in reverse for IPv6 (RFC 5782 2.4).</summary>
    internal static string ReversedName(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6)
            ip = ip.MapToIPv4();
        var bytes = ip.GetAddressBytes();
        if (ip.AddressFamily == AddressFamily.InterNetwork)
            return string.Join('.', bytes.Reverse());
        var hex = Convert.ToHexString(bytes).ToLowerInvariant();
        return string.Join('.', hex.Reverse());
    }
}
