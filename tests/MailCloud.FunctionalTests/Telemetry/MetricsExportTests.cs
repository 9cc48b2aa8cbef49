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

    /// <summary>
    /// With APPLICATIONINSIGHTS_CONNECTION_STRING (what Bicep gives each app), the same instruments go to Azure
    /// Monitor's ingestion API: its IngestionEndpoint points at a local listener standing in for Azure (unreachable
    /// from here), which receives the exporter's track request with the metric names in it.
    /// </summary>
    [Fact]
    public async Task Azure_monitor_exporter_sends_the_instruments_to_the_ingestion_endpoint()
    {
        var port = AzuriteProcess.FreePort();
        using var ingestion = new HttpListener();
        ingestion.Prefixes.Add($"http://127.0.0.1:{port}/");
        ingestion.Start();
        var requests = new ConcurrentQueue<(string Path, string Body)>();
        _ = Task.Run(async () =>
        {
            while (ingestion.IsListening)
            {
                try
                {
                    var c = await ingestion.GetContextAsync();
                    using var body = new MemoryStream();
                    Stream input = c.Request.Headers["Content-Encoding"] == "gzip" ? new System.IO.Compression.GZipStream(c.Request.InputStream, System.IO.Compression.CompressionMode.Decompress) : c.Request.InputStream;
                    await input.CopyToAsync(body);
                    requests.Enqueue((c.Request.Url!.AbsolutePath, Encoding.UTF8.GetString(body.ToArray())));
                    var reply = Encoding.UTF8.GetBytes("""{"itemsReceived":1,"itemsAccepted":1,"errors":[]}""");
                    c.Response.StatusCode = 200;
                    c.Response.ContentType = "application/json";
                    await c.Response.OutputStream.WriteAsync(reply);
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
            ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = $"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=http://127.0.0.1:{port}/",
        };
        using (var provider = MailCloud.Telemetry.MetricsExport.Start(n => env.GetValueOrDefault(n), "mailcloud-azure-monitor-test"))
        {
            Assert.NotNull(provider);
            MailMetrics.MessagesAccepted.Add(3, new KeyValuePair<string, object?>("listener", "mx"));
            MailMetrics.Delivery("delivered", 2);
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!requests.Any(r => r.Body.Contains("mailcloud.smtp.accepted", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        var track = Assert.Single(requests, r => r.Body.Contains("mailcloud.smtp.accepted", StringComparison.Ordinal));
        Assert.Equal("/v2.1/track", track.Path);
        Assert.Contains("MetricData", track.Body, StringComparison.Ordinal);
        Assert.Contains("mailcloud.delivery.recipients", track.Body, StringComparison.Ordinal);
        Assert.Contains("00000000-0000-0000-0000-000000000001", track.Body, StringComparison.Ordinal);
    }
}
