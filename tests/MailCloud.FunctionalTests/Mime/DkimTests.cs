using System.Text;
using MailCloud.Dkim;
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
    public async Task Ed25519_signatures_verify_and_tampering_is_detected()
    {
        var key = DkimSigner.CreateEd25519Key();
        var record = DkimSigner.Ed25519DnsRecord(key);
        var message = new MessageBuilder { Body = new TextPart("Hello from an Ed25519 key\n") }
            .Address("From", (null, "joerg@example.test")).Address("To", (null, "bob@remote.test")).Subject("Ed25519 mail").ToBytes();
        var signed = Encoding.Latin1.GetBytes(DkimSigner.Ed25519("example.test", "mc1", key).Sign(message, DateTimeOffset.UtcNow)).Concat(message).ToArray();
        Assert.Contains("a=ed25519-sha256;", Encoding.Latin1.GetString(signed).Replace("\r\n\t", " ", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal("pass", await VerifyAsync(signed, record));
        var tampered = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(signed).Replace("Hello from", "Hullo from", StringComparison.Ordinal));
        Assert.Equal("fail", await VerifyAsync(tampered, record));
    }

    [Fact]
    public void Ed25519_public_key_matches_rfc8032_test_vector_1()
    {
        var seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var publicKey = Convert.FromHexString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        Assert.Equal("v=DKIM1; k=ed25519; p=" + Convert.ToBase64String(publicKey), DkimSigner.Ed25519DnsRecord(seed));
    }

    [Fact]
    public void Dns_record_has_the_public_key() =>
        Assert.StartsWith("v=DKIM1; k=rsa; p=MII", DkimSigner.DnsRecord(DkimSigner.CreateKey()), StringComparison.Ordinal);
}
