using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using DnsClient;
using DnsClient.Protocol;

namespace MailCloud.Dns;

/// <summary>A lookup result. NXDOMAIN, no-data and SERVFAIL/timeout stay distinct: mail treats them differently.</summary>
public sealed record DnsAnswer(DnsStatus Status, IReadOnlyList<DnsRecord> Records)
{
    public bool IsNameError => Status == DnsStatus.NameError;
    public bool IsNoData => Status == DnsStatus.NoError && Records.Count == 0;

    /// <summary>Worth trying again later (the server failed or did not answer), as opposed to a definite answer.</summary>
    public bool IsTemporaryFailure => Status is DnsStatus.ServerFailure or DnsStatus.Timeout or DnsStatus.Refused;

    public IEnumerable<T> Data<T>() => Records.Select(r => r.Data).OfType<T>();
}

/// <summary>
/// Stub resolver on DnsClient's <see cref="LookupClient"/>: asks the configured servers (MAILCLOUD_DNS_SERVERS, else
/// /etc/resolv.conf; any port) over UDP with EDNS0, over TCP when truncated, fails over between servers, and caches
/// answers for their TTL (negative answers for the SOA minimum, at most an hour) in the mail-shaped form the SPF,
/// DKIM, DMARC and delivery code read. IDN names are queried in their A-label form.
/// </summary>
public sealed class DnsResolver
{
    private static readonly IdnMapping Idn = new();
    private readonly IReadOnlyList<IPEndPoint> _servers;
    private readonly TimeSpan _timeout;
    private readonly int _attempts;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(string, DnsType), (DateTimeOffset Expires, DnsAnswer Answer)> _cache = new();

    public DnsResolver(IReadOnlyList<IPEndPoint> servers, TimeSpan? timeout = null, int attempts = 2, TimeProvider? time = null)
    {
        if (servers.Count == 0)
            throw new ArgumentException("at least one DNS server is needed", nameof(servers));
        _servers = servers;
        _timeout = timeout ?? TimeSpan.FromSeconds(2);
        _attempts = attempts;
        _time = time ?? TimeProvider.System;
        // Retries, failover and caching stay here (mail needs NXDOMAIN, no-data and SERVFAIL apart, and its own TTL rules).
        _client = new LookupClient(new LookupClientOptions
        {
            Timeout = _timeout,
            Retries = 0,
            UseCache = false,
            UseTcpFallback = true,
            ThrowDnsErrors = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
            UseRandomNameServer = false,
            EnableAuditTrail = false,
        });
    }

    private readonly LookupClient _client;

    /// <summary>Questions actually sent (cache misses), for tests and cost figures.</summary>
    public int QueriesSent => _queriesSent;
    private int _queriesSent;

    /// <summary>Servers from MAILCLOUD_DNS_SERVERS ("host:port,host:port") or the nameserver lines of /etc/resolv.conf.</summary>
    public static DnsResolver FromEnvironment(string? serversVariable = null)
    {
        var configured = serversVariable ?? Environment.GetEnvironmentVariable("MAILCLOUD_DNS_SERVERS");
        var servers = !string.IsNullOrWhiteSpace(configured)
            ? configured.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseEndPoint).ToList()
            : ReadResolvConf("/etc/resolv.conf");
        return new DnsResolver(servers.Count > 0 ? servers : [new IPEndPoint(IPAddress.Loopback, 53)]);
    }

    public static IPEndPoint ParseEndPoint(string text) =>
        IPEndPoint.TryParse(text, out var ep) ? (ep.Port == 0 ? new IPEndPoint(ep.Address, 53) : ep)
        : throw new FormatException($"'{text}' is not a DNS server address (host:port)");

    private static List<IPEndPoint> ReadResolvConf(string path)
    {
        if (!File.Exists(path))
            return [];
        return File.ReadAllLines(path)
            .Select(l => l.Trim().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 2 && p[0] == "nameserver" && IPAddress.TryParse(p[1], out _))
            .Select(p => new IPEndPoint(IPAddress.Parse(p[1]), 53))
            .ToList();
    }

    public async Task<DnsAnswer> QueryAsync(string name, DnsType type, CancellationToken cancellationToken = default)
    {
        string ascii;
        try
        {
            ascii = Idn.GetAscii(name.TrimEnd('.')).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return new DnsAnswer(DnsStatus.NameError, []);
        }
        var key = (ascii, type);
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(key, out var hit) && hit.Expires > now)
            return hit.Answer;

        var answer = await AskAsync(ascii, type, cancellationToken).ConfigureAwait(false);
        var ttl = CacheTime(answer.Answer, answer.Authority);
        if (ttl > TimeSpan.Zero)
            _cache[key] = (now + ttl, answer.Answer);
        return answer.Answer;
    }

    private static TimeSpan CacheTime(DnsAnswer answer, List<DnsRecord> authority)
    {
        if (answer.IsTemporaryFailure)
            return TimeSpan.Zero;
        if (answer.Records.Count > 0)
            return TimeSpan.FromSeconds(answer.Records.Min(r => r.Ttl));
        // RFC 2308: negative answers live for the SOA minimum (bounded by the SOA's own TTL).
        var soa = authority.FirstOrDefault(r => r.Type == DnsType.SOA);
        var seconds = soa is null ? 60 : Math.Min(soa.Ttl, ((SoaData)soa.Data).Minimum);
        return TimeSpan.FromSeconds(Math.Min(seconds, 3600));
    }

    private async Task<(DnsAnswer Answer, List<DnsRecord> Authority)> AskAsync(string name, DnsType type, CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < _attempts; attempt++)
        {
            foreach (var server in _servers)
            {
                Interlocked.Increment(ref _queriesSent);
                IDnsQueryResponse response;
                try
                {
                    // DnsClient does the wire work: EDNS0, message ids, TCP when the UDP answer is truncated.
                    response = await _client.QueryServerAsync([new NameServer(server)], name, (QueryType)type, QueryClass.IN, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is DnsResponseException or SocketException or IOException)
                {
                    continue; // no answer from this server (timeout, refused connection, garbage)
                }
                var status = (DnsStatus)(int)response.Header.ResponseCode;
                if (status is DnsStatus.ServerFailure or DnsStatus.Refused)
                    continue; // another server may do better
                var records = response.Answers.Select(Convert).Where(r => r is not null && r.Type == type).Select(r => r!).ToList();
                return (new DnsAnswer(status, records), response.Authorities.Select(Convert).OfType<DnsRecord>().ToList());
            }
        }
        return (new DnsAnswer(DnsStatus.Timeout, []), []);
    }

    private static DnsRecord? Convert(DnsResourceRecord r)
    {
        object? data = r switch
        {
            ARecord a => a.Address,
            AaaaRecord a => a.Address,
            MxRecord mx => new MxData(mx.Preference, Name(mx.Exchange)),
            // The character-strings of one TXT record are joined (SPF, DKIM and DMARC records are split at 255 bytes).
            TxtRecord txt => string.Concat(txt.Text),
            PtrRecord ptr => Name(ptr.PtrDomainName),
            CNameRecord cname => Name(cname.CanonicalName),
            NsRecord ns => Name(ns.NSDName),
            SoaRecord soa => new SoaData(Name(soa.MName), Name(soa.RName), soa.Minimum),
            TlsaRecord tlsa => new TlsaData((byte)tlsa.CertificateUsage, (byte)tlsa.Selector, (byte)tlsa.MatchingType, tlsa.CertificateAssociationData.ToArray()),
            _ => null,
        };
        return data is null ? null : new DnsRecord(Name(r.DomainName), (DnsType)(ushort)r.RecordType, (uint)Math.Max(0, r.InitialTimeToLive), data);
    }

    /// <summary>Names without the root dot ("." itself, a null MX, becomes "").</summary>
    private static string Name(DnsString name) => name.Value.TrimEnd('.');
}
