using MailCloud.Core;
using MailCloud.Dkim;
using MailCloud.Dns;

namespace MailCloud.Admin;

public enum RecordStatus { Ok, Missing, Different, Unknown }

/// <summary>One DNS record a hosted domain needs: what to publish, what DNS answers now.</summary>
public sealed record RecordCheck(string Purpose, string Name, string Type, string Expected, IReadOnlyList<string> Found, RecordStatus Status, string? Note = null);

/// <summary>
/// The records a domain must publish for MailCloud to receive and send its mail — MX to this server, SPF, the DKIM
/// keys' TXT records, a DMARC policy — and a live lookup of each through the configured resolver, saying what is
/// missing or different. A lookup that fails (timeout, SERVFAIL) says Unknown, not Missing.
/// </summary>
public static class DomainCheck
{
    public static async Task<IReadOnlyList<RecordCheck>> RunAsync(string domain, DkimKeyInfo key, string mxHost, DnsResolver dns, CancellationToken ct)
    {
        domain = domain.ToLowerInvariant();
        var checks = new List<RecordCheck>();

        var mx = await dns.QueryAsync(domain, DnsType.MX, ct).ConfigureAwait(false);
        var exchanges = mx.Records.Where(r => r.Type == DnsType.MX).Select(r => (MxData)r.Data).OrderBy(m => m.Preference).Select(m => $"{m.Preference} {m.Exchange.TrimEnd('.')}").ToList();
        checks.Add(new RecordCheck("receive mail", domain, "MX", $"10 {mxHost}", exchanges,
            Failed(mx) ? RecordStatus.Unknown
            : exchanges.Count == 0 ? RecordStatus.Missing
            : exchanges.Any(e => e.EndsWith(" " + mxHost, StringComparison.OrdinalIgnoreCase)) ? RecordStatus.Ok : RecordStatus.Different));

        var txt = await dns.QueryAsync(domain, DnsType.TXT, ct).ConfigureAwait(false);
        var spf = Texts(txt).Where(t => t.StartsWith("v=spf1", StringComparison.OrdinalIgnoreCase)).ToList();
        checks.Add(new RecordCheck("SPF (who may send)", domain, "TXT", "v=spf1 mx -all", spf,
            Failed(txt) ? RecordStatus.Unknown
            : spf.Count == 0 ? RecordStatus.Missing
            : spf.Count > 1 ? RecordStatus.Different
            : spf[0].Contains(" mx", StringComparison.OrdinalIgnoreCase) || spf[0].Contains(mxHost, StringComparison.OrdinalIgnoreCase) ? RecordStatus.Ok : RecordStatus.Different,
            spf.Count > 1 ? "more than one SPF record is a permanent error (RFC 7208 4.5)" : null));

        foreach (var (name, value) in DkimRecords.For(domain, key.Selector, key.PrivateKey, key.Ed25519Selector, key.Ed25519Key))
        {
            var answer = await dns.QueryAsync(name, DnsType.TXT, ct).ConfigureAwait(false);
            var found = Texts(answer).ToList();
            string Key(string record) => record.Split(';').Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("p=", StringComparison.Ordinal))?.Replace(" ", string.Empty, StringComparison.Ordinal) ?? string.Empty;
            checks.Add(new RecordCheck("DKIM (signatures)", name, "TXT", value, found,
                Failed(answer) ? RecordStatus.Unknown
                : found.Count == 0 ? RecordStatus.Missing
                : found.Any(f => Key(f) == Key(value)) ? RecordStatus.Ok : RecordStatus.Different));
        }

        var dmarcName = "_dmarc." + domain;
        var dmarcAnswer = await dns.QueryAsync(dmarcName, DnsType.TXT, ct).ConfigureAwait(false);
        var dmarc = Texts(dmarcAnswer).Where(t => t.StartsWith("v=DMARC1", StringComparison.OrdinalIgnoreCase)).ToList();
        checks.Add(new RecordCheck("DMARC (policy)", dmarcName, "TXT", $"v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}", dmarc,
            Failed(dmarcAnswer) ? RecordStatus.Unknown : dmarc.Count == 0 ? RecordStatus.Missing : RecordStatus.Ok));
        return checks;
    }

    private static bool Failed(DnsAnswer a) => a.Status is not (DnsStatus.NoError or DnsStatus.NameError);

    private static IEnumerable<string> Texts(DnsAnswer a) => a.Records.Where(r => r.Type == DnsType.TXT).Select(r => (string)r.Data);
}
