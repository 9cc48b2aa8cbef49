using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using MailCloud.Smtp;

// Container entry point. TLS certificate: a PFX file at MAILCLOUD_TLS_CERT (mounted from Key Vault in Azure).
var settings = new MailCloudSettings();
var certificate = ProtocolHost.CertificateFromEnvironment();
if (certificate is null)
    Console.Error.WriteLine("warning: MAILCLOUD_TLS_CERT is not set: STARTTLS is not offered and port 465 is not opened");
var account = StorageFactory.Account(settings);
var app = SmtpServerHost.Build(SmtpServerHost.OptionsFromSettings(settings, certificate), account);
await app.RunAsync();
