using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FrontEnd;
using MailCloud.LocalDev;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Telemetry;

/// <summary>
/// The front end exports its metrics over OTLP/HTTP when the standard OTEL_* variables say where: a local HTTP
/// listener stands in for the collector (no OpenTelemetry collector can be installed here) and receives the
/// protobuf batches; the instrument names and the queue tag values are plain strings inside them.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class MetricsExportTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Queue_depths_accepted_messages_and_storage_requests_reach_an_otlp_collector()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var directory = StorageProvisioner.Directory(account);
        await directory.AddDomainAsync("metrics.test");
        await directory.AddUserAsync(MailAddress.Parse("m@metrics.test"), "metrics password");

        var port = AzuriteProcess.FreePort();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var batches = new ConcurrentQueue<(string Path, string ContentType, byte[] Body)>();
        _ = Task.Run(async () =>
        {
            while (collector.IsListening)
            {
                try
                {
                    var c = await collector.GetContextAsync();
                    using var body = new MemoryStream();
                    await c.Request.InputStream.CopyToAsync(body);
                    batches.Enqueue((c.Request.Url!.AbsolutePath, c.Request.ContentType ?? string.Empty, body.ToArray()));
                    c.Response.StatusCode = 200;
                    c.Response.Close();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
            }
        });

        var env = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_SERVICE_NAME"] = "mailcloud-metrics-test",
            ["MAILCLOUD_HOSTNAME"] = "mx.metrics.test",
        };
        ListenerPorts.Assign(env);
        var settings = new MailCloudSettings(n => env.GetValueOrDefault(n));
        await using (var frontEnds = await FrontEnds.StartAsync(settings, account, null, ["smtp", "web"], logging: b => b.SetMinimumLevel(LogLevel.Warning)))
        {
            var smtp = settings.Port(MailCloudSettings.Listeners.Single(l => l.Name == "smtp"));
            var sent = await ExternalProcess.PythonAsync("""
                import smtplib, os
                s = smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]), timeout=30)
                s.sendmail("a@remote.example", ["m@metrics.test"], b"From: a@remote.example\r\nTo: m@metrics.test\r\nSubject: metrics\r\n\r\nbody\r\n")
                s.quit()
                """, new Dictionary<string, string> { ["PORT"] = smtp.ToString(CultureInfo.InvariantCulture) });
            Assert.True(sent.ExitCode == 0, sent.Stderr);

            string[] wanted = ["mailcloud.smtp.accepted", "mailcloud.storage.requests", "mailcloud.queue.depth", "inbound-poison", "mailcloud-metrics-test"];
            bool All() => wanted.All(w => batches.Any(b => Encoding.UTF8.GetString(b.Body).Contains(w, StringComparison.Ordinal)));
            for (int i = 0; i < 100 && !All(); i++)
                await Task.Delay(200);
            Assert.True(All(), $"missing from {batches.Count} batches: {string.Join(", ", wanted.Where(w => !batches.Any(b => Encoding.UTF8.GetString(b.Body).Contains(w, StringComparison.Ordinal))))}");
            Assert.All(batches, b => Assert.Equal("/v1/metrics", b.Path));
            Assert.All(batches, b => Assert.Equal("application/x-protobuf", b.ContentType));
        }
        collector.Stop();
    }
}
