using System.Text;
using System.Text.Json;
using MailCloud.Mime;

namespace MailCloud.FunctionalTests.Mime;

/// <summary>What the builder writes must read back the same here and in python3's email package.</summary>
public sealed class MessageBuilderTests
{
    private const string PythonReadBack = """
import email, email.policy, json, sys
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
parts = []
for p in msg.walk():
    info = {"type": p.get_content_type(), "filename": p.get_filename()}
    if not p.is_multipart():
        info["len"] = len(p.get_payload(decode=True) or b"")
        if p.get_content_maintype() == "text": info["text"] = p.get_content()
    parts.append(info)
print(json.dumps({"subject": str(msg["subject"]), "from": [[a.display_name, a.addr_spec] for a in msg["from"].addresses],
                  "defects": [type(d).__name__ for p in msg.walk() for d in p.defects], "parts": parts}))
""";

    private static async Task<JsonElement> PythonAsync(byte[] message)
    {
        var r = await ExternalProcess.RunAsync("python3", ["-c", PythonReadBack], Encoding.Latin1.GetString(message));
        Assert.True(r.ExitCode == 0, r.Stderr);
        return JsonDocument.Parse(r.Stdout).RootElement;
    }

    [Fact]
    public async Task Built_message_with_attachments_reads_back_everywhere()
    {
        var attachment = new byte[5000];
        new Random(3).NextBytes(attachment);
        var longSubject = "Quartalsbericht für Größenordnungen — 日本語の件名 with a long tail that needs folding across lines";
        var message = new MessageBuilder
        {
            Body = new Multipart("mixed",
                new Multipart("alternative", new TextPart("Hallo Jörg,\nanbei der Bericht.\n"), new TextPart("<p>Hallo J&ouml;rg</p>", "html")),
                new BinaryPart("application/pdf", attachment, "Bericht März.pdf"),
                new BinaryPart("text/csv", "a,b\r\n1,2\r\n"u8.ToArray(), "data.csv")),
        }
            .Address("From", ("Jörg Müller", "joerg@example.de"))
            .Address("To", ("Doe, Jane", "jane@example.com"), (null, "bob@example.com"))
            .Subject(longSubject)
            .ToBytes();

        var text = Encoding.Latin1.GetString(message);
        Assert.All(text.Split("\r\n"), line => Assert.True(line.Length <= 78 || !line.Contains(' ', StringComparison.Ordinal), $"unfolded line: {line}"));
        Assert.True(message.All(b => b < 0x80), "the built message is 7-bit clean");

        var m = MimeParser.Parse(message);
        Assert.Equal(longSubject, m.Subject);
        Assert.Equal("Jörg Müller", ((MailboxAddress)m.From[0]).Name);
        Assert.Equal(["Doe, Jane", null], m.To.OfType<MailboxAddress>().Select(a => a.Name));
        Assert.Equal("Hallo Jörg,\r\nanbei der Bericht.\r\n", m.Children[0].Children[0].GetText(message));
        Assert.Equal("Bericht März.pdf", m.Children[1].FileName);
        Assert.Equal(attachment, m.Children[1].DecodeBody(message));

        var py = await PythonAsync(message);
        Assert.Equal(longSubject, py.GetProperty("subject").GetString());
        Assert.Equal("Jörg Müller", py.GetProperty("from")[0][0].GetString());
        Assert.Empty(py.GetProperty("defects").EnumerateArray());
        var parts = py.GetProperty("parts").EnumerateArray().ToList();
        Assert.Equal(["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf", "text/csv"], parts.Select(p => p.GetProperty("type").GetString()));
        Assert.Equal("Bericht März.pdf", parts[4].GetProperty("filename").GetString());
        Assert.Equal(5000, parts[4].GetProperty("len").GetInt32());
        Assert.Equal("Hallo Jörg,\r\nanbei der Bericht.\r\n", parts[2].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Dsn_is_a_well_formed_multipart_report()
    {
        var original = new MessageBuilder { Body = new TextPart("original body\n") }
            .Address("From", (null, "alice@example.test")).Address("To", (null, "nobody@remote.example")).Subject("Lunch?").ToBytes();
        var dsn = DsnBuilder.Build("mx.mailcloud.test", "postmaster@example.test", "alice@example.test",
            [new DsnRecipient("nobody@remote.example", "failed", "5.1.1", "rfc822;nobody@remote.example", "mx.remote.example", "550 5.1.1 <nobody@remote.example>: user unknown")],
            original, headersOnly: false, originalEnvelopeId: "env-1", arrivalDate: new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero), originalSubject: "Lunch?");

        var m = MimeParser.Parse(dsn);
        Assert.Equal("multipart/report", m.ContentType.Value);
        Assert.Equal("delivery-status", m.ContentType["report-type"]);
        Assert.Equal(["text/plain", "message/delivery-status", "message/rfc822"], m.Children.Select(c => c.ContentType.Value));
        var status = Encoding.ASCII.GetString(m.Children[1].RawBody(dsn));
        Assert.Contains("Reporting-MTA: dns; mx.mailcloud.test\r\nOriginal-Envelope-Id: env-1\r\nArrival-Date: Tue, 24 Nov 2026 08:00:00 +0000\r\n\r\n", status, StringComparison.Ordinal);
        Assert.Contains("Final-Recipient: rfc822; nobody@remote.example\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.remote.example\r\nDiagnostic-Code: smtp; 550 5.1.1", status, StringComparison.Ordinal);
        Assert.Equal("Lunch?", m.Children[2].Message!.Subject);
        Assert.Equal("auto-replied", m.GetHeader("Auto-Submitted")!.Value);

        var py = await PythonAsync(dsn);
        Assert.Equal(["multipart/report", "text/plain", "message/delivery-status", "text/plain", "text/plain", "message/rfc822", "text/plain"],
            py.GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("type").GetString()));
        Assert.Empty(py.GetProperty("defects").EnumerateArray());

        var headersOnly = MimeParser.Parse(DsnBuilder.Build("mx", "postmaster@example.test", "alice@example.test",
            [new DsnRecipient("x@remote.example", "delayed", "4.4.1")], original, headersOnly: true));
        Assert.Equal("text/rfc822-headers", headersOnly.Children[2].ContentType.Value);
        Assert.StartsWith("Delayed Mail", headersOnly.Subject, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trace_headers_are_prepended_without_touching_the_body()
    {
        var original = "Subject: x\r\n\r\nbody with trailing spaces   \r\n"u8.ToArray();
        await using var stream = TraceHeaders.Prepend([new("Authentication-Results", "mx.example; spf=pass smtp.mailfrom=a@b.example"), new("Received", "from a by b; Tue, 24 Nov 2026 08:00:00 +0000")], new MemoryStream(original));
        var ms = new MemoryStream();
        await stream.CopyToAsync(ms);
        var result = ms.ToArray();
        Assert.Equal(original, result[^original.Length..]);
        var m = MimeParser.Parse(result);
        Assert.Equal("mx.example; spf=pass smtp.mailfrom=a@b.example", m.Headers[0].Value);
        Assert.Equal("Received", m.Headers[1].Name);
    }
}
