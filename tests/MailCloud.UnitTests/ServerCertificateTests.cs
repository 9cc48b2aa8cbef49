using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MailCloud.Protocols;

namespace MailCloud.UnitTests;

public sealed class ServerCertificateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mailcloud-cert-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;
        public override DateTimeOffset GetUtcNow() => _now;
        public void Advance(TimeSpan by) => _now += by;
    }

    private static X509Certificate2 NewCertificate(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    [Fact]
    public void A_fixed_certificate_is_always_the_current_one()
    {
        using var cert = NewCertificate("fixed.test");
        ServerCertificate source = cert;
        Assert.Same(cert, source.Current);
    }

    [Fact]
    public void Pfx_base64_pfx_and_pem_files_all_load_with_their_key()
    {
        using var cert = NewCertificate("formats.test");
        var pfx = Path.Combine(_dir, "a.pfx");
        File.WriteAllBytes(pfx, cert.Export(X509ContentType.Pkcs12));
        var base64 = Path.Combine(_dir, "b.pfx");
        File.WriteAllText(base64, Convert.ToBase64String(cert.Export(X509ContentType.Pkcs12)) + "\n");
        var pem = Path.Combine(_dir, "c.pem");
        File.WriteAllText(pem, cert.ExportCertificatePem() + "\n" + cert.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        foreach (var path in new[] { pfx, base64, pem })
        {
            var loaded = ServerCertificate.FromFile(path).Current;
            Assert.Equal(cert.Thumbprint, loaded.Thumbprint);
            Assert.True(loaded.HasPrivateKey, path);
        }
    }

    [Fact]
    public void A_renewed_file_is_used_after_the_check_interval_and_a_broken_one_is_ignored()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        using var first = NewCertificate("first.test");
        using var second = NewCertificate("second.test");
        var path = Path.Combine(_dir, "tls.pfx");
        File.WriteAllBytes(path, first.Export(X509ContentType.Pkcs12));
        var source = ServerCertificate.FromFile(path, checkInterval: TimeSpan.FromSeconds(30), time: time);
        X509Certificate2? reloaded = null;
        source.Reloaded += c => reloaded = c;

        File.WriteAllText(path, "half written");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(first.Thumbprint, source.Current.Thumbprint); // unreadable: keep serving the old one

        File.WriteAllBytes(path, second.Export(X509ContentType.Pkcs12));
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(2));
        Assert.Equal(first.Thumbprint, source.Current.Thumbprint); // not checked again before the interval
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(second.Thumbprint, source.Current.Thumbprint);
        Assert.Equal(second.Thumbprint, reloaded?.Thumbprint);
    }
}
