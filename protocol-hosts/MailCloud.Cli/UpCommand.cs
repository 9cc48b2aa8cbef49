using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FrontEnd;
using MailCloud.Functions;
using MailCloud.LocalDev;
using MailCloud.Smtp;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Cli;

/// <summary>
/// <c>mailcloud up</c>: Azurite (unless MAILCLOUD_STORAGE names other storage), every container/queue/table,
/// a local TLS certificate, then every front end and function that exists; stops all of it on SIGINT/SIGTERM.
/// </summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Folder for Azurite's data and local certificates (default: .mailcloud/ in the repository)" };
        var storagePort = new Option<int>("--storage-port") { Description = "First of three ports for Azurite: blob, queue = +1, table = +2", DefaultValueFactory = _ => 10000 };
        var up = new Command("up", "Run MailCloud locally on Azurite until Ctrl-C.") { data, storagePort };
        up.SetAction((p, _) => CliErrors.RunAsync(() => RunAsync(p.GetValue(data), p.GetValue(storagePort))));
        return up;
    }

    private static string RepoRoot() =>
        Environment.GetEnvironmentVariable("MAILCLOUD_REPO") is { Length: > 0 } r ? r : Directory.GetCurrentDirectory();

    private static async Task<int> RunAsync(string? dataOption, int storagePort)
    {
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

        var settings = new MailCloudSettings();
        var dataDir = Path.GetFullPath(dataOption ?? Path.Combine(RepoRoot(), ".mailcloud"));
        Directory.CreateDirectory(dataDir);

        AzuriteProcess? azurite = null;
        FrontEnds? frontEnds = null;
        LocalFunctionsHost? functions = null;
        StorageConnection connection;
        string adminHint;
        if (settings.StorageIsDefault)
        {
            foreach (var port in new[] { storagePort, storagePort + 1, storagePort + 2 })
            {
                if (!PortIsFree(port))
                    return CliErrors.Fail($"port {port} on 127.0.0.1 is in use (another './mailcloud up' or Azurite?). Stop it or pick --storage-port.");
            }
            Console.WriteLine($"starting Azurite (data in {Path.Combine(dataDir, "azurite")}) ...");
            azurite = await AzuriteProcess.StartAsync(Path.Combine(dataDir, "azurite"), "127.0.0.1", storagePort, storagePort + 1, storagePort + 2, RepoRoot(), cancellationToken: stop.Token);
            connection = azurite.Connection;
            adminHint = storagePort == 10000
                ? "admin commands reach this storage by default (./mailcloud user add ...)"
                : $"for admin commands: export {MailCloudSettings.StorageVariable}='{azurite.ConnectionString}'";
        }
        else
        {
            connection = StorageFactory.Connection(settings);
            adminHint = $"using the storage account from {MailCloudSettings.StorageVariable}: {connection}";
        }

        try
        {
            var account = new StorageAccount(connection);
            await StorageProvisioner.EnsureCreatedAsync(account, stop.Token);
            Console.WriteLine($"storage ready: blob {connection.BlobEndpoint}, queue {connection.QueueEndpoint}, table {connection.TableEndpoint}");
            Console.WriteLine($"  containers: {string.Join(", ", StorageNames.Containers)}; queues: {string.Join(", ", StorageNames.Queues)}; tables: {string.Join(", ", StorageNames.Tables)}");

            var certPath = Path.Combine(dataDir, "tls", "server.pfx");
            using var cert = DevCertificate.LoadOrCreate(certPath);
            Console.WriteLine($"TLS certificate: {certPath} (self-signed, {cert.Subject}, expires {cert.NotAfter:yyyy-MM-dd})");

            var secrets = StorageFactory.Secrets(settings);
            // The same composition as the container's entry point (protocol-hosts/MailCloud.FrontEnd).
            // New mail is pushed to IDLE sessions in-process: the functions publish to the hub the IMAP host listens to.
            var changes = new MailboxChangeHub();
            frontEnds = await FrontEnds.StartAsync(settings, account, cert, settings.Protocols, secrets, QuietFramework, changes, stop.Token);
            var running = frontEnds.Listening;

            // The functions: the isolated worker's [Function] methods and service registrations, run in-process by the
            // local driver with host.json's queue semantics (the Functions host itself cannot be installed here).
            var pipeline = new MailCloud.Functions.PipelineSettings(account, settings.HostName) { Secrets = secrets, Changes = changes }.WithEngines(settings);
            // The backup timer's schedule is an app setting in Azure (Bicep sets it); here its default stands in when unset.
            Environment.SetEnvironmentVariable(MailCloudSettings.BackupScheduleVariable, settings.BackupSchedule ?? "off");
            functions = LocalFunctionsHost.Create(account, typeof(MailCloud.Functions.PipelineFunctions).Assembly, s => s.AddMailCloudPipeline(pipeline),
                Path.Combine(RepoRoot(), "host.json"), logging: QuietFramework, log: line => Console.WriteLine($"driver: {line}"));
            functions.Start();
            var triggers = functions.Driver.Triggers;

            // A listener that did not start (implicit TLS without a certificate) is listed plainly as such.
            foreach (var listener in MailCloudSettings.Listeners)
            {
                var port = settings.Port(listener);
                var status = running.Contains(listener.Name) ? "listening"
                    : settings.Protocols.Contains(listener.FrontEnd) ? "not listening (no TLS certificate)" : "off (MAILCLOUD_PROTOCOLS)";
                Console.WriteLine($"  {listener.Protocol,-16} {settings.BindAddress}:{port,-5} ({listener.Security}) - {status}");
            }
            Console.WriteLine($"  functions        in-process (isolated worker methods) - {string.Join(", ", triggers.Select(t => t.Queue is null ? $"{t.Function} (timer {FunctionsDriver.ResolveSchedule(t.Schedule!) ?? "off"})" : $"{t.Function} (queue {t.Queue})"))}");
            if (running.Contains("web"))
            {
                var web = $"http://{settings.BindAddress}:{settings.Port(MailCloudSettings.Listeners.Single(l => l.Name == "web"))}";
                Console.WriteLine($"webmail {web}/mail; administration {web}/admin (sign in as a user made an administrator with ./mailcloud user admin ADDRESS global{(settings.AdminTokenSha256 is null ? "" : ", or with the admin token")})");
            }
            Console.WriteLine(adminHint);
            Console.WriteLine("MailCloud is up. Press Ctrl-C to stop.");

            await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            Console.WriteLine("stopping ...");
        }
        finally
        {
            if (functions is not null)
                await functions.DisposeAsync();
            if (frontEnds is not null)
                await frontEnds.DisposeAsync(); // Kestrel drains connections: SMTP transactions in flight finish before storage goes
            if (azurite is not null)
                await azurite.DisposeAsync();
        }
        Console.WriteLine("stopped");
        return CliErrors.Ok;
    }

    /// <summary>Our own log lines on the console; the framework's only when something is wrong.</summary>
    private static void QuietFramework(ILoggingBuilder logging) => logging
        .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
        .AddFilter("Microsoft", LogLevel.Warning);

    private static bool PortIsFree(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
