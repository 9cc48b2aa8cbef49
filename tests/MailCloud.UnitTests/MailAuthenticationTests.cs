using System.Net;
using System.Text;
using MailCloud.Dkim;
using MailCloud.Pipeline.Authentication;

namespace MailCloud.UnitTests;

/// <summary>DKIM verification against our own signer (both algorithms), SPF macros and networks, DMARC organizational domains.</summary>
public sealed class MailAuthenticationTests
{
    private static readonly byte[] Message = Encoding.ASCII.GetBytes("From: a@example.test\r\nTo: b@remote.test\r\nSubject: hi\r\n\r\nbody\r\n");

    [Fact]
    public async Task Own_signatures_verify_and_changes_fail()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var ed = DkimSigner.CreateEd25519Key();
        var now = DateTimeOffset.UtcNow;
        var signed = Encoding.Latin1.GetBytes(DkimSigner.Ed25519("example.test", "e", ed).Sign(Message, now) + new DkimSigner("example.test", "r", rsa).Sign(Message, now)).Concat(Message).ToArray();
        Task<TxtAnswer> Lookup(string name, CancellationToken ct) => Task.FromResult(new TxtAnswer(name switch
        {
            "e._domainkey.example.test" => DkimSigner.Ed25519DnsRecord(ed),
            "r._domainkey.example.test" => DkimSigner.DnsRecord(rsa),
            _ => null,
        }));
        var results = await DkimVerifier.VerifyAsync(signed, Lookup, now, CancellationToken.None);
        Assert.Equal([DkimResult.Pass, DkimResult.Pass], results.Select(r => r.Result));
        Assert.Equal(["ed25519-sha256", "rsa-sha256"], results.Select(r => r.Algorithm));

        var changedSubject = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(signed).Replace("Subject: hi", "Subject: ho", StringComparison.Ordinal));
        Assert.All(await DkimVerifier.VerifyAsync(changedSubject, Lookup, now, CancellationToken.None), r => Assert.Equal((DkimResult.Fail, "signature did not verify"), (r.Result, r.Reason)));
        var noKey = await DkimVerifier.VerifyAsync(signed, (_, _) => Task.FromResult(new TxtAnswer(null)), now, CancellationToken.None);
        Assert.All(noKey, r => Assert.Equal(DkimResult.PermError, r.Result));
        var dnsDown = await DkimVerifier.VerifyAsync(signed, (_, _) => Task.FromResult(new TxtAnswer(null, TemporaryFailure: true)), now, CancellationToken.None);
        Assert.All(dnsDown, r => Assert.Equal(DkimResult.TempError, r.Result));
    }

    [Fact]
    public async Task Rsa_sha1_and_malformed_signatures_are_permerrors()
    {
        var sha1 = Encoding.ASCII.GetBytes("DKIM-Signature: v=1; a=rsa-sha1; d=x.test; s=s; h=from; bh=AAAA; b=AAAA\r\n").Concat(Message).ToArray();
        Assert.Equal(DkimResult.PermError, (await DkimVerifier.VerifyAsync(sha1, (_, _) => Task.FromResult(new TxtAnswer(null)), DateTimeOffset.UtcNow, CancellationToken.None)).Single().Result);
        var junk = Encoding.ASCII.GetBytes("DKIM-Signature: garbage\r\n").Concat(Message).ToArray();
        Assert.Equal(DkimResult.PermError, (await DkimVerifier.VerifyAsync(junk, (_, _) => Task.FromResult(new TxtAnswer(null)), DateTimeOffset.UtcNow, CancellationToken.None)).Single().Result);
    }

    [Theory]
    [InlineData("%{s}", "strong-bad@email.example.com")]
    [InlineData("%{o}", "email.example.com")]
    [InlineData("%{d}", "email.example.com")]
    [InlineData("%{d4}", "email.example.com")]
    [InlineData("%{d3}", "email.example.com")]
    [InlineData("%{d2}", "example.com")]
    [InlineData("%{d1}", "com")]
    [InlineData("%{dr}", "com.example.email")]
    [InlineData("%{d2r}", "example.email")]
    [InlineData("%{l}", "strong-bad")]
    [InlineData("%{l-}", "strong.bad")]
    [InlineData("%{lr-}", "bad.strong")]
    [InlineData("%{l1r-}", "strong")]
    [InlineData("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com")]
    public void Spf_macros_expand_as_rfc7208_shows(string macro, string expected) =>
        Assert.Equal(expected, SpfMacro.Expand(macro, IPAddress.Parse("192.0.2.3"), "email.example.com", "strong-bad@email.example.com", "mx.example.org"));

    [Theory]
    [InlineData("192.0.2.3", "192.0.2.0", 24, true)]
    [InlineData("192.0.3.3", "192.0.2.0", 24, false)]
    [InlineData("192.0.2.3", "192.0.2.3", 32, true)]
    [InlineData("2001:db8::1", "2001:db8::", 32, true)]
    [InlineData("2001:db9::1", "2001:db8::", 32, false)]
    [InlineData("::ffff:192.0.2.3", "192.0.2.0", 24, true)]
    [InlineData("192.0.2.3", "2001:db8::", 0, false)]
    public void Spf_networks(string ip, string network, int prefix, bool expected) =>
        Assert.Equal(expected, SpfEvaluator.InNetwork(IPAddress.Parse(ip), IPAddress.Parse(network), prefix));

    [Theory]
    [InlineData("mail.example.com", "example.com")]
    [InlineData("example.com", "example.com")]
    [InlineData("a.b.example.co.uk", "example.co.uk")]
    [InlineData("news.bbc.co.uk", "bbc.co.uk")]
    public void Dmarc_organizational_domains(string domain, string expected) => Assert.Equal(expected, Dmarc.OrganizationalDomain(domain));
}

public sealed class DnsblTests
{
    [Theory]
    [InlineData("192.0.2.1", "1.2.0.192")]
    [InlineData("::ffff:192.0.2.1", "1.2.0.192")]
    [InlineData("2001:db8:1:2:3:4:567:89ab", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2")]
    public void Reversed_names_follow_rfc5782(string ip, string expected) =>
        Assert.Equal(expected, MailCloud.Pipeline.Authentication.DnsblCheck.ReversedName(System.Net.IPAddress.Parse(ip)));
}
