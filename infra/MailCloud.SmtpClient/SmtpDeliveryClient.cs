using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using MailCloud.Core;

namespace MailCloud.SmtpClient;

public sealed record SmtpClientOptions
{
    public required string HeloName { get; init; }
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>RFC 5321 4.5.3.2 suggests 5 minutes for most replies and 10 for the end of data.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Fail instead of sending in clear when the peer offers no STARTTLS (relay hosts).</summary>
    public bool RequireTls { get; init; }

    /// <summary>Check the peer certificate (relay hosts); MX delivery is opportunistic, so problems are only logged.</summary>
    public bool ValidateCertificate { get; init; }

    public bool ImplicitTls { get; init; }
    public NetworkCredential? Credentials { get; init; }
}

/// <summary>What the peer said about one recipient. Codes 2xx accepted, 4xx try later, 5xx give up.</summary>
public sealed record RecipientResult(string Address, int Code, string Reply)
{
    public bool Accepted => Code is >= 200 and < 300;
    public bool Permanent => Code >= 500;
}

public sealed record MessageProperties(long Size, bool EightBit, bool SmtpUtf8, string? Ret, string? EnvId);

public sealed record SmtpSendResult(IReadOnlyList<RecipientResult> Recipients, bool Tls, string? TlsProblem);

/// <summary>The peer could not be reached or talked to at all: try the next host, or later.</summary>
public sealed class SmtpConnectException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Sends one message to one SMTP server: EHLO (HELO fallback), STARTTLS when offered (opportunistic unless required),
/// AUTH PLAIN/LOGIN for relay hosts, PIPELINING of MAIL and RCPTs, SIZE and SMTPUTF8 checks, DSN parameters when the
/// peer supports DSN, BDAT (RFC 3030) when it offers CHUNKING, DATA otherwise. Returns a reply per recipient; a reply to MAIL or DATA applies to every recipient it covers.
/// </summary>
public static class SmtpDeliveryClient
{
    public static async Task<SmtpSendResult> SendAsync(IPEndPoint server, string? serverName, SmtpClientOptions options, string sender,
        IReadOnlyList<EnvelopeRecipient> recipients, MessageProperties message, Func<CancellationToken, Task<Stream>> openMessage, CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient(server.AddressFamily);
        try
        {
            using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connectTimeout.CancelAfter(options.ConnectTimeout);
            await tcp.ConnectAsync(server, connectTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SmtpConnectException($"cannot connect to {server}: {e.Message}", e);
        }

        Stream stream = tcp.GetStream();
        string? tlsProblem = null;
        bool tls = false;
        try
        {
            if (options.ImplicitTls)
            {
                (stream, tlsProblem) = await StartTlsAsync(stream, serverName ?? server.Address.ToString(), options, cancellationToken).ConfigureAwait(false);
                tls = true;
            }
            var conn = new Connection(stream, options.CommandTimeout);
            var greeting = await conn.ReadReplyAsync(cancellationToken).ConfigureAwait(false);
            if (greeting.Code != 220)
                throw new SmtpConnectException($"{server} greeted with {greeting}");

            var ehlo = await conn.CommandAsync($"EHLO {options.HeloName}", cancellationToken).ConfigureAwait(false);
            if (ehlo.Code != 250)
            {
                ehlo = await conn.CommandAsync($"HELO {options.HeloName}", cancellationToken).ConfigureAwait(false);
                if (ehlo.Code != 250)
                    return AllRecipients(recipients, ehlo, tls, tlsProblem);
            }
            var features = Features(ehlo);

            if (!tls && features.ContainsKey("STARTTLS"))
            {
                var go = await conn.CommandAsync("STARTTLS", cancellationToken).ConfigureAwait(false);
                if (go.Code == 220)
                {
                    (stream, tlsProblem) = await StartTlsAsync(stream, serverName ?? server.Address.ToString(), options, cancellationToken).ConfigureAwait(false);
                    tls = true;
                    conn = new Connection(stream, options.CommandTimeout);
                    ehlo = await conn.CommandAsync($"EHLO {options.HeloName}", cancellationToken).ConfigureAwait(false);
                    features = Features(ehlo);
                }
            }
            if (options.RequireTls && !tls)
                return AllRecipients(recipients, new Reply(454, "4.7.0 TLS required by policy but not offered"), tls, tlsProblem);

            if (options.Credentials is { } credentials)
            {
                var auth = await AuthenticateAsync(conn, features, credentials, cancellationToken).ConfigureAwait(false);
                // A refused login is our configuration, not the recipients' fault: defer (as Postfix's soft bounce does)
                // so the operator can fix the credentials without every message bouncing.
                if (auth.Code != 235)
                    return AllRecipients(recipients, new Reply(454, $"4.7.0 relay host refused our login: {auth}"), tls, tlsProblem);
            }

            if (features.TryGetValue("SIZE", out var sizeText) && long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max > 0 && message.Size > max)
                return AllRecipients(recipients, new Reply(552, $"5.3.4 message size {message.Size} exceeds the peer's limit {max}"), tls, tlsProblem);
            if (message.SmtpUtf8 && !features.ContainsKey("SMTPUTF8"))
                return AllRecipients(recipients, new Reply(553, "5.6.7 the peer does not support SMTPUTF8, which this message needs"), tls, tlsProblem);

            bool dsn = features.ContainsKey("DSN");
            var mail = new StringBuilder("MAIL FROM:<").Append(sender).Append('>');
            if (features.ContainsKey("SIZE"))
                mail.Append(" SIZE=").Append(message.Size);
            if (message.EightBit && features.ContainsKey("8BITMIME"))
                mail.Append(" BODY=8BITMIME");
            if (message.SmtpUtf8)
                mail.Append(" SMTPUTF8");
            if (dsn && message.Ret is not null)
                mail.Append(" RET=").Append(message.Ret);
            if (dsn && message.EnvId is not null)
                mail.Append(" ENVID=").Append(XText(message.EnvId));

            var rcptLines = recipients.Select(r =>
            {
                var line = new StringBuilder("RCPT TO:<").Append(r.Address).Append('>');
                if (dsn && r.Notify is not null)
                    line.Append(" NOTIFY=").Append(r.Notify);
                if (dsn && r.OriginalRecipient is not null)
                    line.Append(" ORCPT=").Append(XText(r.OriginalRecipient));
                return line.ToString();
            }).ToList();

            Reply mailReply;
            var rcptReplies = new List<Reply>();
            if (features.ContainsKey("PIPELINING"))
            {
                // RFC 2920: MAIL and every RCPT in one write, then read the replies in order.
                await conn.WriteAsync(string.Join("\r\n", [mail.ToString(), .. rcptLines]) + "\r\n", cancellationToken).ConfigureAwait(false);
                mailReply = await conn.ReadReplyAsync(cancellationToken).ConfigureAwait(false);
                foreach (var _ in rcptLines)
                    rcptReplies.Add(await conn.ReadReplyAsync(cancellationToken).ConfigureAwait(false));
            }
            else
            {
                mailReply = await conn.CommandAsync(mail.ToString(), cancellationToken).ConfigureAwait(false);
                if (mailReply.Code == 250)
                {
                    foreach (var line in rcptLines)
                        rcptReplies.Add(await conn.CommandAsync(line, cancellationToken).ConfigureAwait(false));
                }
            }
            if (mailReply.Code != 250)
            {
                await conn.TryQuitAsync().ConfigureAwait(false);
                return AllRecipients(recipients, mailReply, tls, tlsProblem);
            }

            var results = recipients.Select((r, i) => new RecipientResult(r.Address, rcptReplies[i].Code, rcptReplies[i].Text)).ToList();
            if (!results.Any(r => r.Accepted))
            {
                await conn.TryQuitAsync().ConfigureAwait(false);
                return new SmtpSendResult(results, tls, tlsProblem);
            }
            Reply end;
            if (features.ContainsKey("CHUNKING"))
            {
                // RFC 3030: the bytes as they are, in counted chunks; no dot-stuffing, no end marker to scan for.
                await using var content = await openMessage(cancellationToken).ConfigureAwait(false);
                end = await conn.WriteChunksAsync(content, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var data = await conn.CommandAsync("DATA", cancellationToken).ConfigureAwait(false);
                if (data.Code != 354)
                    return new SmtpSendResult(results.Select(r => r.Accepted ? r with { Code = data.Code, Reply = data.Text } : r).ToList(), tls, tlsProblem);
                await using (var content = await openMessage(cancellationToken).ConfigureAwait(false))
                    await conn.WriteDotStuffedAsync(content, cancellationToken).ConfigureAwait(false);
                end = await conn.ReadReplyAsync(cancellationToken, TimeSpan.FromMinutes(10)).ConfigureAwait(false);
            }
            await conn.TryQuitAsync().ConfigureAwait(false);
            return new SmtpSendResult(results.Select(r => r.Accepted ? r with { Code = end.Code, Reply = end.Text } : r).ToList(), tls, tlsProblem);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SmtpConnectException($"conversation with {server} failed: {e.Message}", e);
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static SmtpSendResult AllRecipients(IReadOnlyList<EnvelopeRecipient> recipients, Reply reply, bool tls, string? tlsProblem) =>
        new(recipients.Select(r => new RecipientResult(r.Address, reply.Code, reply.Text)).ToList(), tls, tlsProblem);

    private static Dictionary<string, string> Features(Reply ehlo)
    {
        var features = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in ehlo.Lines.Skip(1))
        {
            var parts = line.Split(' ', 2);
            features[parts[0]] = parts.Length > 1 ? parts[1] : string.Empty;
        }
        return features;
    }

    private static async Task<(Stream, string?)> StartTlsAsync(Stream inner, string serverName, SmtpClientOptions options, CancellationToken cancellationToken)
    {
        string? problem = null;
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false, (_, _, _, errors) =>
        {
            if (errors == SslPolicyErrors.None)
                return true;
            problem = errors.ToString();
            return !options.ValidateCertificate; // opportunistic TLS: encrypt anyway, note the problem
        });
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = serverName }, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Security.Authentication.AuthenticationException e)
        {
            throw new SmtpConnectException($"TLS with {serverName} failed: {e.Message}{(problem is null ? "" : $" ({problem})")}", e);
        }
        return (ssl, problem);
    }

    private static async Task<Reply> AuthenticateAsync(Connection conn, Dictionary<string, string> features, NetworkCredential credentials, CancellationToken ct)
    {
        var mechanisms = features.TryGetValue("AUTH", out var list) ? list.Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
        if (mechanisms.Contains("PLAIN", StringComparer.OrdinalIgnoreCase))
        {
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{credentials.UserName}\0{credentials.Password}"));
            return await conn.CommandAsync($"AUTH PLAIN {token}", ct).ConfigureAwait(false);
        }
        if (mechanisms.Contains("LOGIN", StringComparer.OrdinalIgnoreCase))
        {
            var r = await conn.CommandAsync("AUTH LOGIN", ct).ConfigureAwait(false);
            if (r.Code == 334)
                r = await conn.CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials.UserName)), ct).ConfigureAwait(false);
            if (r.Code == 334)
                r = await conn.CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials.Password)), ct).ConfigureAwait(false);
            return r;
        }
        return new Reply(530, "5.7.0 the relay host offers no AUTH mechanism we support (PLAIN, LOGIN)");
    }

    private static string XText(string value)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is >= 33 and <= 126 and not (byte)'+' and not (byte)'=')
                sb.Append((char)b);
            else
                sb.Append('+').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    internal sealed record Reply(int Code, string Text, IReadOnlyList<string> Lines)
    {
        public Reply(int code, string text) : this(code, text, [text]) { }
        public override string ToString() => $"{Code} {Text}";
    }

    private sealed class Connection(Stream stream, TimeSpan timeout)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start;
        private int _end;

        public async Task WriteAsync(string text, CancellationToken ct)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(text), ct).ConfigureAwait(false);
            await stream.FlushAsync(ct).ConfigureAwait(false);
        }

        public async Task<Reply> CommandAsync(string command, CancellationToken ct)
        {
            await WriteAsync(command + "\r\n", ct).ConfigureAwait(false);
            return await ReadReplyAsync(ct).ConfigureAwait(false);
        }

        public async Task TryQuitAsync()
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await CommandAsync("QUIT", cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
            {
                // The message is already handed over; a rude goodbye changes nothing.
            }
        }

        public async Task<Reply> ReadReplyAsync(CancellationToken ct, TimeSpan? wait = null)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(wait ?? timeout);
            var lines = new List<string>();
            while (true)
            {
                var line = await ReadLineAsync(cts.Token).ConfigureAwait(false);
                lines.Add(line.Length > 4 ? line[4..] : string.Empty);
                if (line.Length < 4 || line[3] != '-')
                {
                    int code = line.Length >= 3 && int.TryParse(line.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var c) ? c : 500;
                    return new Reply(code, string.Join(" ", lines), lines);
                }
            }
        }

        private async Task<string> ReadLineAsync(CancellationToken ct)
        {
            while (true)
            {
                int lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (lf >= 0)
                {
                    var line = Encoding.UTF8.GetString(_buffer, _start, lf - _start).TrimEnd('\r');
                    _start = lf + 1;
                    return line;
                }
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                if (_end == _buffer.Length)
                    throw new IOException("reply line too long");
                int n = await stream.ReadAsync(_buffer.AsMemory(_end), ct).ConfigureAwait(false);
                if (n == 0)
                    throw new IOException("connection closed by the peer");
                _end += n;
            }
        }

        /// <summary>
        /// Sends the message as BDAT chunks of up to 1 MiB, the last one marked LAST, reading each chunk's reply;
        /// returns the final reply, or the first refusal (which then applies to the whole message).
        /// </summary>
        public async Task<Reply> WriteChunksAsync(Stream content, CancellationToken ct)
        {
            const int ChunkSize = 1024 * 1024;
            var current = new byte[ChunkSize];
            var next = new byte[ChunkSize];
            int currentLength = await content.ReadAtLeastAsync(current, ChunkSize, throwOnEndOfStream: false, ct).ConfigureAwait(false);
            while (true)
            {
                int nextLength = currentLength < ChunkSize ? 0 : await content.ReadAtLeastAsync(next, ChunkSize, throwOnEndOfStream: false, ct).ConfigureAwait(false);
                bool last = nextLength == 0;
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"BDAT {currentLength}{(last ? " LAST" : string.Empty)}\r\n"), ct).ConfigureAwait(false);
                await stream.WriteAsync(current.AsMemory(0, currentLength), ct).ConfigureAwait(false);
                await stream.FlushAsync(ct).ConfigureAwait(false);
                var reply = await ReadReplyAsync(ct, last ? TimeSpan.FromMinutes(10) : null).ConfigureAwait(false);
                if (last || reply.Code != 250)
                    return reply;
                (current, next) = (next, current);
                currentLength = nextLength;
            }
        }

        /// <summary>The message with CRLF line ends, dot-stuffed, then the end marker.</summary>
        public async Task WriteDotStuffedAsync(Stream content, CancellationToken ct)
        {
            var output = new BufferedStream(stream, 64 * 1024);
            var buffer = new byte[64 * 1024];
            bool atLineStart = true;
            byte last = (byte)'\n';
            int n;
            while ((n = await content.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                int from = 0;
                for (int i = 0; i < n; i++)
                {
                    byte b = buffer[i];
                    if (atLineStart && b == (byte)'.')
                    {
                        await output.WriteAsync(buffer.AsMemory(from, i - from), ct).ConfigureAwait(false);
                        output.WriteByte((byte)'.');
                        from = i;
                    }
                    if (b == (byte)'\n' && last != (byte)'\r')
                    {
                        // A bare LF becomes CRLF: SMTP lines end in CRLF.
                        await output.WriteAsync(buffer.AsMemory(from, i - from), ct).ConfigureAwait(false);
                        output.WriteByte((byte)'\r');
                        from = i;
                    }
                    atLineStart = b == (byte)'\n';
                    last = b;
                }
                await output.WriteAsync(buffer.AsMemory(from, n - from), ct).ConfigureAwait(false);
            }
            if (!atLineStart)
                await output.WriteAsync("\r\n"u8.ToArray(), ct).ConfigureAwait(false);
            await output.WriteAsync(".\r\n"u8.ToArray(), ct).ConfigureAwait(false);
            await output.FlushAsync(ct).ConfigureAwait(false);
        }
    }
}
