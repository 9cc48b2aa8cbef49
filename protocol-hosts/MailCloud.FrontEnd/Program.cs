using System.Runtime.InteropServices;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FrontEnd;
using MailCloud.Protocols;
using Microsoft.Extensions.Logging;

// Container entry point: every front end in one process (MAILCLOUD_PROTOCOLS picks fewer). TLS certificate:
// MAILCLOUD_TLS_CERT, a file mounted from Key Vault in Azure and re-read when it is renewed.
var settings = new MailCloudSettings();
using var stop = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

ServerCertificate? certificate;
try
{
    certificate = ProtocolHost.CertificateFromEnvironment();
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or FormatException)
{
    Console.Error.WriteLine($"error: the TLS certificate in MAILCLOUD_TLS_CERT cannot be loaded: {e.Message}");
    return 2;
}
if (certificate is null)
    Console.Error.WriteLine("warning: MAILCLOUD_TLS_CERT is not set: no STARTTLS/STLS, no implicit-TLS ports, and so no logins");
else
    certificate.Reloaded += c => Console.WriteLine($"TLS certificate reloaded: {c.Subject}, expires {c.NotAfter:yyyy-MM-dd}");

await using var frontEnds = await FrontEnds.StartAsync(settings, StorageFactory.Account(settings), certificate, settings.Protocols, StorageFactory.Secrets(settings),
    logging => logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; }).AddFilter("Microsoft", LogLevel.Warning), cancellationToken: stop.Token);
foreach (var listener in MailCloudSettings.Listeners.Where(l => frontEnds.Listening.Contains(l.Name)))
    Console.WriteLine($"listening: {listener.Protocol} on {settings.BindAddress}:{settings.Port(listener)} ({listener.Security})");
Console.WriteLine("ready");
await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
Console.WriteLine("stopping");
return 0;
