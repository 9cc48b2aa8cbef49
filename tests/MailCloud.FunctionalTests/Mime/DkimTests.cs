using System.Text;
using MailCloud.Mime;

namespace MailCloud.FunctionalTests.Mime;

/// <summary>Signatures checked by an independent verifier: dkimpy (Debian's python3-dkim), with the key record handed to it as DNS would.</summary>
public sealed class DkimTests
{
    private const string Verify = """
import dkim, sys
record = sys.argv[1].encode()
message = sys.stdin.buffer.read()
print("pass" if dkim.verify(message, dnsfunc=lambda name, timeout=5: record if name == b"mc1._domainkey.example.test." or name == b"mc1._domainkey.example.test" else None) else "fail")
""";

    private static async Task<string> VerifyAsync(byte[] message, string record)
    {
        var r = await ExternalProcess.RunAsync("/usr/bin/python3", ["-c", Verify, record], Encoding.Latin1.GetString(message));
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r.Stdout.Trim();
    }

    [Fact]
    public async Task Signed_messages_verify_and_tampering_is_detected()
    {
        using var key = DkimSigner.CreateKey();
        var record = DkimSigner.DnsRecord(key);
        var signer = new DkimSigner("example.test", "mc1", key);
        var message = new MessageBuilder { Body = new Multipart("mixed", new TextPart("Grüße,\nline with   spaces   \n\n\n"), new BinaryPart("application/pdf", new byte[300], "a.pdf")) }
            .Address("From", ("Jörg", "joerg@example.test")).Address("To", (null, "bob@remote.test")).Subject("Signed mail")
            .ToBytes();
        var signed = Encoding.Latin1.GetBytes(signer.Sign(message, DateTimeOffset.UtcNow)).Concat(message).ToArray();
        Assert.Equal("pass", await VerifyAsync(signed, record));

        // A changed body or a changed signed header must fail.
        var tampered = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(signed).Replace("line with", "line wiTh", StringComparison.Ordinal));
        Assert.Equal("fail", await VerifyAsync(tampered, record));
        var reSubjected = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(signed).Replace("Subject: Signed mail", "Subject: Changed", StringComparison.Ordinal));
        Assert.Equal("fail", await VerifyAsync(reSubjected, record));
        // Relaxed canonicalization: re-folding whitespace in transit does not break it.
        var refolded = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(signed).Replace("Subject: Signed mail", "Subject:   Signed\r\n   mail", StringComparison.Ordinal));
        Assert.Equal("pass", await VerifyAsync(refolded, record));
    }

    [Fact]
    public void Dns_record_has_the_public_key() =>
        Assert.StartsWith("v=DKIM1; k=rsa; p=MII", DkimSigner.DnsRecord(DkimSigner.CreateKey()), StringComparison.Ordinal);
}
