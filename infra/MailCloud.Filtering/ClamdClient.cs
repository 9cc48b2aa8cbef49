using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MailCloud.Filtering;

/// <summary>clamd's verdict on one stream. <see cref="Virus"/> is the signature name when one was found.</summary>
public sealed record ClamdResult(bool Clean, string? Virus, long BytesScanned, bool Truncated);

/// <summary>
/// clamd's INSTREAM command over TCP (or a Unix socket): "zINSTREAM\0", then chunks each preceded by its length as
/// 4 bytes big-endian, then a zero length; the answer is "stream: OK" or "stream: NAME FOUND" ended by NUL. clamd
/// drops the connection once a stream passes its StreamMaxLength, so at most <see cref="MaxStream"/> bytes are sent
/// (set it to clamd's limit); a longer message is scanned as far as that and the result says so.
/// </summary>
public sealed class ClamdClient(EndPoint endPoint, long maxStream = ClamdClient.DefaultMaxStream, TimeSpan? timeout = null)
{
    public const string Engine = "clamd";

    /// <summary>Debian's clamd.conf sets StreamMaxLength 25M.</summary>
    public const long DefaultMaxStream = 25L * 1024 * 1024;

    private const int ChunkSize = 64 * 1024;

    public EndPoint EndPoint { get; } = endPoint;
    public long MaxStream { get; } = maxStream;
    public TimeSpan Timeout { get; } = timeout ?? TimeSpan.FromSeconds(60);

    /// <summary>"host:port", "[v6]:port" or "unix:/path" (also a bare absolute path).</summary>
    public static EndPoint ParseEndPoint(string value)
    {
        if (value.StartsWith("unix:", StringComparison.Ordinal))
            return new UnixDomainSocketEndPoint(value[5..]);
        if (value.StartsWith('/'))
            return new UnixDomainSocketEndPoint(value);
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value[(colon + 1)..], out var port) || port is < 1 or > 65535)
            throw new FormatException($"clamd address '{value}' is not host:port or unix:/path");
        var host = value[..colon].Trim('[', ']');
        return IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
    }

    public async Task<ClamdResult> ScanAsync(Stream message, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var ct = timeout.Token;
        try
        {
            using var socket = await ConnectAsync(ct).ConfigureAwait(false);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            await stream.WriteAsync("zINSTREAM\0"u8.ToArray(), ct).ConfigureAwait(false);
            var buffer = new byte[4 + ChunkSize];
            long sent = 0;
            bool truncated = false;
            while (true)
            {
                int want = (int)Math.Min(ChunkSize, MaxStream - sent);
                if (want <= 0)
                {
                    truncated = await message.ReadAsync(buffer.AsMemory(4, 1), ct).ConfigureAwait(false) > 0;
                    break;
                }
                int n = await ReadChunkAsync(message, buffer.AsMemory(4, want), ct).ConfigureAwait(false);
                if (n == 0)
                    break;
                BinaryPrimitives.WriteUInt32BigEndian(buffer, (uint)n);
                await stream.WriteAsync(buffer.AsMemory(0, 4 + n), ct).ConfigureAwait(false);
                sent += n;
            }
            await stream.WriteAsync(new byte[4], ct).ConfigureAwait(false);
            var reply = await ReadReplyAsync(stream, ct).ConfigureAwait(false);
            return Interpret(reply, sent, truncated);
        }
        catch (Exception e) when (e is SocketException or IOException || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new EngineUnavailableException(Engine, $"scan at {EndPoint} failed: {(e is OperationCanceledException ? $"no answer within {Timeout.TotalSeconds:0} s" : e.Message)}", e);
        }
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var socket = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            await stream.WriteAsync("zPING\0"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            return await ReadReplyAsync(stream, cancellationToken).ConfigureAwait(false) == "PONG";
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return false;
        }
    }

    /// <summary>Reads the NUL-terminated answer (or up to the close).</summary>
    internal static ClamdResult Interpret(string reply, long sent, bool truncated)
    {
        if (reply.EndsWith(" FOUND", StringComparison.Ordinal))
        {
            var name = reply[..^6];
            int colon = name.IndexOf(": ", StringComparison.Ordinal);
            return new ClamdResult(false, colon >= 0 ? name[(colon + 2)..] : name, sent, truncated);
        }
        if (reply.EndsWith(": OK", StringComparison.Ordinal) || reply == "OK")
            return new ClamdResult(true, null, sent, truncated);
        // "INSTREAM size limit exceeded. ERROR", "... ERROR", an empty answer: not a verdict.
        throw new EngineUnavailableException(Engine, $"answered '{reply}'");
    }

    private async Task<Socket> ConnectAsync(CancellationToken ct)
    {
        var socket = EndPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(EndPoint, ct).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<int> ReadChunkAsync(Stream source, Memory<byte> into, CancellationToken ct)
    {
        int total = 0;
        while (total < into.Length)
        {
            int n = await source.ReadAsync(into[total..], ct).ConfigureAwait(false);
            if (n == 0)
                break;
            total += n;
        }
        return total;
    }

    private static async Task<string> ReadReplyAsync(Stream stream, CancellationToken ct)
    {
        var reply = new MemoryStream();
        var one = new byte[256];
        while (reply.Length < 4096)
        {
            int n = await stream.ReadAsync(one, ct).ConfigureAwait(false);
            if (n == 0)
                break;
            int nul = Array.IndexOf(one, (byte)0, 0, n);
            reply.Write(one, 0, nul >= 0 ? nul : n);
            if (nul >= 0)
                break;
        }
        return Encoding.ASCII.GetString(reply.GetBuffer(), 0, (int)reply.Length).Trim();
    }
}
