using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

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
/// Stub resolver: asks the configured servers (MAILCLOUD_DNS_SERVERS, else /etc/resolv.conf) over UDP with EDNS0,
/// retries over TCP when truncated, fails over between servers, and caches answers for their TTL (negative answers
/// for the SOA minimum, at most an hour). IDN names are queried in their A-label form.
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
    }

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
                var id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
                var query = DnsMessage.BuildQuery(id, name, type);
                Interlocked.Increment(ref _queriesSent);
                DnsMessage.Response? response;
                try
                {
                    response = await UdpAsync(server, query, id, cancellationToken).ConfigureAwait(false);
                    if (response is { Truncated: true })
                        response = await TcpAsync(server, query, id, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is SocketException or FormatException or IOException)
                {
                    continue;
                }
                if (response is null || response.Status is DnsStatus.ServerFailure or DnsStatus.Refused)
                    continue; // another server may do better
                var records = response.Answers.Where(r => r.Type == type).ToList();
                return (new DnsAnswer(response.Status, records), response.Authority);
            }
        }
        return (new DnsAnswer(DnsStatus.Timeout, []), []);
    }

    private async Task<DnsMessage.Response?> UdpAsync(IPEndPoint server, byte[] query, ushort id, CancellationToken cancellationToken)
    {
        using var udp = new UdpClient(server.AddressFamily);
        udp.Connect(server);
        await udp.SendAsync(query, cancellationToken).ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        while (true)
        {
            UdpReceiveResult result;
            try
            {
                result = await udp.ReceiveAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
            var response = DnsMessage.Parse(result.Buffer);
            if (response.Id == id)
                return response; // anything else is a stray or spoofed datagram
        }
    }

    private async Task<DnsMessage.Response?> TcpAsync(IPEndPoint server, byte[] query, ushort id, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout * 2);
        using var tcp = new TcpClient(server.AddressFamily);
        await tcp.ConnectAsync(server, timeout.Token).ConfigureAwait(false);
        var stream = tcp.GetStream();
        var framed = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        await stream.WriteAsync(framed, timeout.Token).ConfigureAwait(false);
        var lengthBytes = new byte[2];
        await stream.ReadExactlyAsync(lengthBytes, timeout.Token).ConfigureAwait(false);
        var body = new byte[BinaryPrimitives.ReadUInt16BigEndian(lengthBytes)];
        await stream.ReadExactlyAsync(body, timeout.Token).ConfigureAwait(false);
        var response = DnsMessage.Parse(body);
        return response.Id == id ? response : null;
    }
}
