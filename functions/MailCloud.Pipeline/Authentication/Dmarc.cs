using MailCloud.Dkim;
using MailCloud.Dns;

namespace MailCloud.Pipeline.Authentication;

/// <summary>A DMARC evaluation: pass/fail/none/temperror/permerror and the policy that applies.</summary>
public sealed record DmarcOutcome(string Result, string? Policy)
{
    public string ToAuthenticationResult(string fromDomain) =>
        $"dmarc={Result}{(Policy is null ? string.Empty : $" (p={Policy})")} header.from={fromDomain}";
}

/// <summary>
/// DMARC (RFC 7489): the policy record at _dmarc.FROM-DOMAIN or at its organizational domain, and identifier
/// alignment (relaxed or strict) of an SPF-passed envelope domain or a DKIM-passed signing domain with the From
/// domain. The organizational domain is estimated without the Public Suffix List (which is not available offline
/// here): the last two labels, or three under a two-letter country code with a common second level (co.uk).
/// </summary>
public static class Dmarc
{
    private static readonly HashSet<string> CommonSecondLevels = ["co", "com", "net", "org", "ac", "gov", "edu", "ne", "or"];

    public static async Task<DmarcOutcome> EvaluateAsync(DnsResolver dns, string fromDomain, string? spfDomain, IReadOnlyList<string> dkimDomains, CancellationToken ct)
    {
        var org = OrganizationalDomain(fromDomain);
        var (record, temp) = await RecordAsync(dns, fromDomain, ct).ConfigureAwait(false);
        bool fromOrg = false;
        if (record is null && !temp && org != fromDomain)
        {
            (record, temp) = await RecordAsync(dns, org, ct).ConfigureAwait(false);
            fromOrg = true;
        }
        if (temp)
            return new DmarcOutcome("temperror", null);
        if (record is null)
            return new DmarcOutcome("none", null);
        if (!DmarcRecord.TryParse(record, out var parsed))
            return new DmarcOutcome("permerror", null);
        var policy = fromOrg && parsed.SubdomainPolicy is { } sp ? sp : parsed.Policy;
        bool strictSpf = parsed.StrictSpf;
        bool strictDkim = parsed.StrictDkim;
        bool Aligned(string domain, bool strict) =>
            strict ? domain.Equals(fromDomain, StringComparison.OrdinalIgnoreCase) : OrganizationalDomain(domain.ToLowerInvariant()) == org;
        bool pass = spfDomain is not null && Aligned(spfDomain, strictSpf) || dkimDomains.Any(d => Aligned(d, strictDkim));
        return new DmarcOutcome(pass ? "pass" : "fail", policy);
    }

    private static async Task<(string? Record, bool Temporary)> RecordAsync(DnsResolver dns, string domain, CancellationToken ct)
    {
        var answer = await dns.QueryAsync("_dmarc." + domain, DnsType.TXT, ct).ConfigureAwait(false);
        if (answer.IsTemporaryFailure)
            return (null, true);
        var records = answer.Data<string>().Where(t => t.StartsWith("v=DMARC1", StringComparison.OrdinalIgnoreCase)).ToList();
        return (records.Count == 1 ? records[0] : null, false);
    }

    public static string OrganizationalDomain(string domain)
    {
        var labels = domain.TrimEnd('.').ToLowerInvariant().Split('.');
        if (labels.Length <= 2)
            return string.Join('.', labels);
        int keep = labels[^1].Length == 2 && CommonSecondLevels.Contains(labels[^2]) ? 3 : 2;
        return string.Join('.', labels[^Math.Min(keep, labels.Length)..]);
    }
}
