using System.Security.Cryptography.X509Certificates;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Pop3;

// Container entry point. TLS certificate: a PFX file at MAILCLOUD_TLS_CERT (mounted from Key Vault in Azure).
var settings = new MailCloudSettings();
X509Certificate2? certificate = Environment.GetEnvironmentVariable("MAILCLOUD_TLS_CERT") is { Length: > 0 } path
    ? X509CertificateLoader.LoadPkcs12FromFile(path, Environment.GetEnvironmentVariable("MAILCLOUD_TLS_CERT_PASSWORD"))
    : null;
if (certificate is null)
    Console.Error.WriteLine("warning: MAILCLOUD_TLS_CERT is not set: STLS is not offered, port 995 is not opened, and no login is possible");
var app = Pop3ServerHost.Build(Pop3ServerHost.OptionsFromSettings(settings, certificate), StorageFactory.Account(settings));
await app.RunAsync();
