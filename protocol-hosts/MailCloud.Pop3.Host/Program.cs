using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Pop3;
using MailCloud.Protocols;

// Container entry point. TLS certificate: a PFX file at MAILCLOUD_TLS_CERT (mounted from Key Vault in Azure).
var settings = new MailCloudSettings();
var certificate = ProtocolHost.CertificateFromEnvironment();
if (certificate is null)
    Console.Error.WriteLine("warning: MAILCLOUD_TLS_CERT is not set: STLS is not offered, port 995 is not opened, and no login is possible");
var app = Pop3ServerHost.Build(Pop3ServerHost.OptionsFromSettings(settings, certificate), StorageFactory.Account(settings));
await app.RunAsync();
