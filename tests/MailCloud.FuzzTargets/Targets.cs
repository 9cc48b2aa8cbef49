using System.Buffers;
using System.Net;
using System.Text;
using MailCloud.Core;
using MailCloud.Dkim;
using MailCloud.Imap;
using MailCloud.Mime;
using MailCloud.Pipeline.Authentication;
using MailCloud.Pop3;
using MailCloud.Protocols;
using MailCloud.Smtp;

namespace MailCloud.FuzzTargets;

/// <summary>Every fuzz target, by name (the name the fuzz script and the regression corpus folders use).</summary>
public static class Targets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("smtp-command", "LineReader + SmtpCommandParser", SmtpCommands, Seeds.SmtpCommands),
        new("smtp-data", "DataFramer (dot-unstuffing, end marker)", SmtpData, Seeds.SmtpData),
        new("imap", "ImapFramer + ImapParser", Imap, Seeds.Imap),
        new("pop3", "LineReader + Pop3CommandParser", Pop3, Seeds.Pop3),
        new("sasl-scram", "ScramSha256Server (client-first, client-final)", Scram, Seeds.Scram),
        new("mime", "MimeParser + ImapViews + MessageSummary + PartMap + transfer decoding", Mime, Seeds.Mime),
        new("headers", "AddressParser, MailAddress, EncodedWords, DateParser", Headers, Seeds.Headers),
        new("spf", "SpfRecord + SpfMacro", Spf, Seeds.Spf),
        new("dmarc", "DmarcRecord + organizational domain", Dmarc, Seeds.Dmarc),
        new("dkim", "DkimVerifier (signature header, tags, key record, canonicalization)", Dkim, Seeds.Dkim),
    ];

    public static FuzzTarget Get(string name) =>
        All.FirstOrDefault(t => t.Name == name) ?? throw new ArgumentException($"no fuzz target '{name}'; targets: {string.Join(", ", All.Select(t => t.Name))}");

    private static void SmtpCommands(byte[] input)
    {
        var buffer = new ReadOnlySequence<byte>(input);
        while (LineReader.TryReadLine(ref buffer, out var line))
        {
            if (SmtpCommandParser.TryParse(line, out var command, out var error))
                _ = command.ToString();
            else if (error.Code is < 500 or > 555)
                throw new FuzzInvariantException($"a syntax refusal must be a 5xx reply, got {error.Code}");
        }
    }

    private sealed class Collect : IDataSink
    {
        public readonly ArrayBufferWriter<byte> Bytes = new();

        public void Write(in ReadOnlySequence<byte> data)
        {
            foreach (var segment in data)
                Bytes.Write(segment.Span);
        }
    }

    /// <summary>The message and where it ends must not depend on how the bytes were split into reads.</summary>
    private static void SmtpData(byte[] input)
    {
        if (input.Length == 0)
            return;
        int step = 1 + input[0] % 7;
        var body = input.AsMemory(1);
        var (whole, wholeEnd) = Frame(body, body.Length);
        var (pieces, piecesEnd) = Frame(body, step);
        if (wholeEnd != piecesEnd || !whole.AsSpan().SequenceEqual(pieces))
            throw new FuzzInvariantException($"DATA framing differs when read {step} bytes at a time");
        if (wholeEnd >= 0 && body.Span[..wholeEnd].IndexOf("\r\n.\r\n"u8) is var early and >= 0 && early + 5 < wholeEnd)
            throw new FuzzInvariantException("the end marker was passed over");
    }

    /// <summary>Feeds <paramref name="body"/> in reads of <paramref name="step"/> bytes as a connection would (unconsumed bytes stay buffered).</summary>
    private static (byte[] Message, int End) Frame(ReadOnlyMemory<byte> body, int step)
    {
        var framer = new DataFramer();
        var sink = new Collect();
        int received = 0, consumed = 0;
        while (received < body.Length)
        {
            received = Math.Min(body.Length, received + step);
            var buffer = new ReadOnlySequence<byte>(body[consumed..received]);
            bool done = framer.Consume(ref buffer, sink);
            consumed = received - (int)buffer.Length;
            if (done)
                return (sink.Bytes.WrittenSpan.ToArray(), consumed);
        }
        return (sink.Bytes.WrittenSpan.ToArray(), -1);
    }

    private static void Imap(byte[] input)
    {
        var buffer = new ReadOnlySequence<byte>(input);
        int acknowledged = 0;
        for (int guard = 0; guard < 10_000 && !buffer.IsEmpty; guard++)
        {
            var frame = ImapFramer.Frame(buffer, acknowledged, maxLiteral: 1 << 20, maxLine: 8192);
            switch (frame.Status)
            {
                case FrameStatus.Complete:
                    if (frame.Length <= 0 || frame.Length > buffer.Length)
                        throw new FuzzInvariantException($"frame length {frame.Length} outside the buffer of {buffer.Length}");
                    var command = buffer.Slice(0, frame.Length);
                    if (ImapParser.TryParse(command, out var parsed, out var tag, out var error))
                    {
                        if (parsed is null)
                            throw new FuzzInvariantException("parsed without a command");
                        ImapInvariants.Check(parsed);
                    }
                    else if (string.IsNullOrEmpty(error))
                        throw new FuzzInvariantException("a refusal without a reason");
                    _ = tag;
                    buffer = buffer.Slice(frame.Length);
                    acknowledged = 0;
                    break;
                case FrameStatus.NeedContinuation:
                    acknowledged++; // the server answers "+" and the client goes on
                    break;
                case FrameStatus.LiteralTooLarge:
                    if (frame.Length <= 0 || frame.Length > buffer.Length)
                        throw new FuzzInvariantException("a refused literal must say how far its command line went");
                    buffer = buffer.Slice(frame.Length);
                    acknowledged = 0;
                    break;
                default:
                    return; // NeedMore or LineTooLong: the connection waits or closes
            }
        }
    }

    private static void Pop3(byte[] input)
    {
        var buffer = new ReadOnlySequence<byte>(input);
        while (LineReader.TryReadLine(ref buffer, out var line))
        {
            if (!Pop3CommandParser.TryParse(line, out _, out var error) && string.IsNullOrEmpty(error))
                throw new FuzzInvariantException("a refusal without a reason");
        }
    }

    // Lazy: instrumented code must not run before SharpFuzz has set up afl's coverage map.
    private static readonly Lazy<ScramCredential> Credential = new(() => ScramCredential.Create("pencil", ScramCredential.MinimumIterations, salt: Encoding.ASCII.GetBytes("fuzz-salt-16byte")));

    /// <summary>client-first NUL client-final, against a known user, as both the SMTP/IMAP/POP3 exchanges run it.</summary>
    private static void Scram(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        var parts = text.Split('\0', 2);
        var server = new ScramSha256Server((user, _) => Task.FromResult(user == "user@example.com" ? Credential.Value : null), serverNonce: "3rfcNHYJY1ZVvWVs7j");
        var serverFirst = server.ReceiveClientFirstAsync(parts[0]).GetAwaiter().GetResult();
        if (serverFirst is null)
        {
            if (server.State != ScramSha256Server.ScramState.Failed)
                throw new FuzzInvariantException("a refused client-first must end the exchange");
            return;
        }
        if (parts.Length > 1 && server.ReceiveClientFinal(parts[1]) is not null && server.UserName != "user@example.com")
            throw new FuzzInvariantException("SCRAM succeeded for a user it has no credential for");
    }

    private static void Mime(byte[] input)
    {
        var message = MimeParser.Parse(input);
        _ = ImapViews.Envelope(message);
        _ = ImapViews.BodyStructure(message);
        _ = ImapViews.Body(message);
        var summary = MessageSummary.Of(message);
        _ = summary.Subject;
        var map = PartMap.Serialize(message);
        if (PartMap.Parse(map) is null)
            throw new FuzzInvariantException("a part map did not read back");
        foreach (var section in new[] { "", "HEADER", "TEXT", "1", "1.MIME", "2.1", "1.HEADER.FIELDS (From To)", "HEADER.FIELDS.NOT (Received)" })
        {
            if (ImapViews.Resolve(message, section) is { } range && (range.Offset < 0 || range.Offset + range.Length > input.Length))
                throw new FuzzInvariantException($"section {section} lies outside the message");
        }
        Walk(message, input, 0);
    }

    private static void Walk(MimeEntity entity, byte[] raw, int depth)
    {
        if (entity.BodyStart < 0 || entity.End > raw.Length || entity.BodyStart > entity.End)
            throw new FuzzInvariantException($"part bounds {entity.BodyStart}..{entity.End} outside the message of {raw.Length}");
        if (entity.Children.Count == 0)
        {
            var decoded = TransferEncoding.Decode(raw.AsSpan((int)entity.BodyStart, (int)entity.BodyLength), entity.GetHeader("Content-Transfer-Encoding")?.Value);
            _ = Charsets.Decode(decoded, entity.ContentType["charset"]);
        }
        foreach (var child in entity.Children)
            Walk(child, raw, depth + 1);
    }

    private static void Headers(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        foreach (var address in AddressParser.ParseList(text))
            _ = address.ToString();
        _ = AddressParser.ParseMailboxes(text);
        if (MailAddress.TryParse(text, out var parsed) && !MailAddress.TryParse(parsed.ToString(), out _))
            throw new FuzzInvariantException("a parsed address does not parse again");
        var decoded = EncodedWords.Decode(text);
        if (EncodedWords.NeedsEncoding(decoded))
            _ = EncodedWords.Encode(decoded);
        if (DateParser.TryParse(text, out var date) && !DateParser.TryParse(DateParser.Format(date), out _))
            throw new FuzzInvariantException("a formatted date does not parse again");
    }

    private static readonly IPAddress V4 = IPAddress.Parse("192.0.2.3");
    private static readonly IPAddress V6 = IPAddress.Parse("2001:db8::cb01");

    private static void Spf(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        if (!SpfRecord.TryParse(text, out var record, out var error))
        {
            if (string.IsNullOrEmpty(error))
                throw new FuzzInvariantException("a refusal without a reason");
            return;
        }
        foreach (var spec in record.Mechanisms.Select(m => m.DomainSpec).Append(record.Redirect).OfType<string>())
        {
            foreach (var ip in new[] { V4, V6 })
            {
                var name = SpfMacro.Expand(spec, ip, "example.com", "someone@example.com", "mx.example.org");
                if (name.Length > 253)
                    throw new FuzzInvariantException("an expanded name is longer than 253 characters");
            }
        }
        foreach (var m in record.Mechanisms)
        {
            if (m.Cidr4 is < 0 or > 32 || m.Cidr6 is < 0 or > 128)
                throw new FuzzInvariantException($"prefix length out of range in {m}");
        }
    }

    private static void Dmarc(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        if (DmarcRecord.TryParse(text, out var record) && record.Percent is < 0 or > 100)
            throw new FuzzInvariantException("pct out of range");
        _ = Pipeline.Authentication.Dmarc.OrganizationalDomain(text);
    }

    /// <summary>A message, optionally NUL and the key record its lookup answers; verification runs without DNS.</summary>
    private static void Dkim(byte[] input)
    {
        int nul = Array.IndexOf(input, (byte)0);
        var message = nul < 0 ? input : input[..nul];
        var key = nul < 0 ? Seeds.DkimKeyRecord : Encoding.UTF8.GetString(input, nul + 1, input.Length - nul - 1);
        var results = DkimVerifier.VerifyAsync(message, (_, _) => Task.FromResult(new TxtAnswer(key, false)), DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), CancellationToken.None)
            .GetAwaiter().GetResult();
        if (results.Count > DkimVerifier.MaxSignatures)
            throw new FuzzInvariantException("more signatures checked than the limit");
    }
}
