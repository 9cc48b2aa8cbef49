using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Functions;
using MailCloud.LocalDev;
using MailCloud.Smtp;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Benchmarks;

/// <summary>
/// Accept → indexed latency at low load (one message at a time) and storage requests per locally delivered
/// message, with the SMTP server, the functions' handler and the local trigger driver in one process on Azurite.
/// </summary>
internal static class PipelineLatencyBenchmark
{
    /// <param name="rspamd">rspamd's scanner URL, to measure with it as the content scorer (else the built-in one).</param>
    /// <param name="clamd">clamd's host:port, to measure with virus scanning.</param>
    public static async Task RunAsync(string repoRoot, int messages, Uri? rspamd = null, string? clamd = null)
    {
        await using var env = await BenchEnvironment.StartAsync();
        var (azurite, account) = (env.Azurite, env.Account);

        int smtpPort = AzuriteProcess.FreePort();
        var options = new SmtpServerOptions { HostName = "bench.mailcloud.test", MxGreetingDelay = TimeSpan.Zero };
        options.Listeners.Add(new SmtpListener("smtp", new IPEndPoint(IPAddress.Loopback, smtpPort), SmtpListenerRole.Mx, false));
        var smtp = SmtpServerHost.Build(options, account, l => l.AddFilter(_ => false));
        await smtp.StartAsync();
        var pipeline = new MailCloud.Functions.PipelineSettings(account, options.HostName)
        {
            Rspamd = rspamd is null ? null : new MailCloud.Filtering.RspamdClient(new HttpClient(), rspamd),
            Clamd = clamd is null ? null : new MailCloud.Filtering.ClamdClient(MailCloud.Filtering.ClamdClient.ParseEndPoint(clamd)),
        };
        await using var functions = LocalFunctionsHost.Create(account, typeof(MailCloud.Functions.PipelineFunctions).Assembly,
            s => MailCloud.Functions.PipelineServices.AddMailCloudPipeline(s, pipeline), Path.Combine(repoRoot, "host.json"));
        functions.Start();

        // Observing the mailbox uses its own account object, so its polling is not counted as the pipeline's cost.
        var observer = new StorageAccount(azurite.Connection).Tables.GetTableClient(StorageNames.MailboxTable);
        var partition = TableMailboxUsage.Partition(MailAddress.Parse("alice@example.test"));

        // Warm up (JIT, directory caches), then count from zero.
        await SendAndWaitAsync(smtpPort, observer, partition, "warm-up");
        account.RequestCounter.Reset();
        var latencies = new List<double>();
        for (int i = 0; i < messages; i++)
            latencies.Add(await SendAndWaitAsync(smtpPort, observer, partition, $"m{i}"));
        var counts = account.RequestCounter.Snapshot();

        latencies.Sort();
        double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
        long polls = counts.Where(k => k.Key.EndsWith(".GetMessages", StringComparison.Ordinal)).Sum(k => k.Value);
        long work = account.RequestCounter.Total - polls;
        Console.WriteLine($"Pipeline latency benchmark: {messages} messages, one at a time, {Environment.ProcessorCount} cores; content scorer {(rspamd is null ? "built-in" : "rspamd")}, virus scan {(clamd is null ? "off" : "clamd")}");
        Console.WriteLine($"accept -> indexed: p50 {P(0.5):F0} ms, p90 {P(0.9):F0} ms, p99 {P(0.99):F0} ms, max {latencies[^1]:F0} ms");
        Console.WriteLine($"storage requests per message: {(double)(work + messages) / messages:F2} (counting one queue receive per message; idle polling adds {polls} receives over the run)");
        Console.WriteLine("breakdown: " + string.Join(", ", counts.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}")));

        await functions.DisposeAsync();
        await smtp.StopAsync();
    }

    private static async Task<double> SendAndWaitAsync(int port, TableClient observer, string partition, string subject)
    {
        await SendAsync(port, subject);
        var accepted = Stopwatch.StartNew();
        while (true)
        {
            await foreach (var e in observer.QueryRowsAsync(TableFilter.And(TableFilter.PartitionKey(partition), TableFilter.RowKeyPrefix("msg:INBOX:"), TableFilter.Equal("Subject", subject)), ["RowKey"]))
                return accepted.Elapsed.TotalMilliseconds;
            await Task.Delay(5);
        }
    }

    /// <summary>A minimal SMTP client: the benchmark measures the server, not a client library.</summary>
    private static async Task SendAsync(int port, string subject)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        using var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        async Task<string> Reply()
        {
            string? line;
            do
                line = await reader.ReadLineAsync() ?? throw new IOException("connection closed");
            while (line.Length > 3 && line[3] == '-');
            return line;
        }
        async Task<string> Command(string text)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(text + "\r\n"));
            return await Reply();
        }
        await Reply();
        await Command("EHLO bench.example");
        await Command("MAIL FROM:<bench@remote.example>");
        await Command("RCPT TO:<alice@example.test>");
        await Command("DATA");
        var end = await Command($"From: bench@remote.example\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\r\n{new string('x', 2000)}\r\n.");
        if (!end.StartsWith("250", StringComparison.Ordinal))
            throw new InvalidOperationException(end);
        await Command("QUIT");
    }
}
