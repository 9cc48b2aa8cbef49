using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs.Models;
using MailCloud.Data;
using MailCloud.Core;
using MailCloud.LocalDev;
using MailCloud.Smtp;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Benchmarks;

/// <summary>
/// SMTP accept path under postfix's smtp-source (10 sessions), beside the raw Azurite ceiling for the same storage
/// operations (Put Blob + Put Message per message, 10 concurrent workers) measured in the same run.
/// </summary>
internal static class SmtpAcceptBenchmark
{
    public static async Task RunAsync(string smtpSource, int messages)
    {
        await using var env = await BenchEnvironment.StartAsync();
        var (azurite, account) = (env.Azurite, env.Account);

        int port = AzuriteProcess.FreePort();
        var options = new SmtpServerOptions { HostName = "bench.mailcloud.test", MxGreetingDelay = TimeSpan.Zero, MaxConnectionsPerAddress = 100, MaxMessageSize = 10 * 1024 * 1024 };
        options.Listeners.Add(new SmtpListener("smtp", new IPEndPoint(IPAddress.Loopback, port), SmtpListenerRole.Mx, false));
        var app = SmtpServerHost.Build(options, account, l => l.AddFilter(_ => false));
        await app.StartAsync();

        Console.WriteLine($"SMTP accept benchmark: {messages} messages per size, 10 sessions, {Environment.ProcessorCount} cores");
        Console.WriteLine("| size | smtp-source msgs/s | storage requests per message | raw Azurite Put Blob + Put Message msgs/s | the same pair as the spool sends it (condition, headers, work item) msgs/s | accept / that |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var size in new[] { 4 * 1024, 100 * 1024 })
        {
            // The ceiling for the same pair is measured before and after the accept run and averaged: this machine's
            // speed drifts within a minute by more than the difference being measured.
            var sameBefore = await RawCeilingAsync(azurite.Connection, size, messages, sameAsSpool: true);
            await account.Queues.GetQueueClient(StorageNames.InboundQueue).ClearMessagesAsync();
            account.RequestCounter.Reset();
            var sw = Stopwatch.StartNew();
            var psi = new ProcessStartInfo(smtpSource)
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { "-s", "10", "-m", messages.ToString(CultureInfo.InvariantCulture), "-l", size.ToString(CultureInfo.InvariantCulture),
                         "-f", "sender@remote.example", "-t", "alice@example.test", "-M", "client.example", $"127.0.0.1:{port}" })
                psi.ArgumentList.Add(a);
            psi.Environment["LD_LIBRARY_PATH"] = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(smtpSource)!)!)!, "usr", "lib", "postfix");
            using (var p = Process.Start(psi)!)
            {
                var err = p.StandardError.ReadToEndAsync();
                await p.StandardOutput.ReadToEndAsync();
                await p.WaitForExitAsync();
                if (p.ExitCode != 0)
                    throw new InvalidOperationException($"smtp-source failed: {await err}");
            }
            sw.Stop();
            var counts = account.RequestCounter.Snapshot();
            long accepted = counts.GetValueOrDefault("queue.PutMessage");
            double perMessage = (double)account.RequestCounter.Total / Math.Max(accepted, 1);
            double rate = accepted / sw.Elapsed.TotalSeconds;

            var raw = await RawCeilingAsync(azurite.Connection, size, messages, sameAsSpool: false);
            var sameAfter = await RawCeilingAsync(azurite.Connection, size, messages, sameAsSpool: true);
            var same = (sameBefore + sameAfter) / 2;
            Console.WriteLine($"| {size / 1024} KiB | {rate:F0} ({accepted} accepted in {sw.Elapsed.TotalSeconds:F1} s) | {perMessage:F2} ({string.Join(", ", counts.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}) | {raw:F0} | {same:F0} ({sameBefore:F0} before, {sameAfter:F0} after) | {rate / same:F2} |");
        }
        await app.StopAsync();
    }

    /// <param name="sameAsSpool">
    /// The requests exactly as the spool makes them: the blob with its content type and "never overwrite" condition,
    /// and a work item of the real one's size (a small message travels inside it); otherwise a bare blob and a tiny message.
    /// </param>
    private static async Task<double> RawCeilingAsync(StorageConnection connection, int size, int messages, bool sameAsSpool)
    {
        var account = new StorageAccount(connection);
        var container = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        var queue = account.Queues.GetQueueClient("benchraw");
        await queue.CreateIfNotExistsAsync();
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        var now = DateTimeOffset.UtcNow;
        var envelope = new Envelope { Sender = "sender@remote.example", Recipients = [new EnvelopeRecipient("alice@example.test")], ClientAddress = "127.0.0.1", Helo = "client.example", Listener = "mx", ReceivedAt = now };
        var item = new InboundWorkItem { MessageId = MessageIds.New(now), MessageBlob = "raw/x.eml", Size = size, Envelope = envelope };
        var workItem = JsonSerializer.SerializeToUtf8Bytes(size <= StorageMessageSpool.MaxInlineContentBytes ? item with { Content = payload } : item, WorkItemJson.Options);
        int next = 0;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= messages)
            {
                var name = "raw/" + Guid.NewGuid().ToString("N") + ".eml";
                if (!sameAsSpool)
                {
                    await container.GetBlobClient(name).UploadAsync(new MemoryStream(payload));
                    await queue.SendMessageAsync("{\"blob\":\"" + name + "\"}");
                    continue;
                }
                await container.GetBlobClient(name).UploadAsync(new MemoryStream(payload), new BlobUploadOptions
                {
                    HttpHeaders = new BlobHttpHeaders { ContentType = "message/rfc822" },
                    Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                    TransferOptions = account.TransferOptions,
                });
                await queue.SendMessageAsync(BinaryData.FromBytes(workItem), timeToLive: WorkQueues.NeverExpires);
            }
        }));
        sw.Stop();
        await queue.DeleteIfExistsAsync();
        return messages / sw.Elapsed.TotalSeconds;
    }
}
