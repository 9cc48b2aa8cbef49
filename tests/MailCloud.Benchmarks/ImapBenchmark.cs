using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Imap;
using MailCloud.LocalDev;
using MailCloud.Mime;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Benchmarks;

/// <summary>
/// IMAP on a large mailbox and with many idle clients, server on Azurite in this process:
/// a mailbox of N messages (default 10,000) written through <see cref="MailboxWriter"/> as deliveries would,
/// then over TLS: SELECT, UID FETCH 1:* (FLAGS), FETCH 1:* ENVELOPE, SEARCH on a summary column and on a header
/// field, 100 body fetches; then C clients (default 1,000, a separate python3 process) in IDLE: server memory
/// per connection, and the time until every one of them has seen a newly delivered message.
/// </summary>
internal static class ImapBenchmark
{
    public static async Task RunAsync(int messageCount, int idleClients)
    {
        await using var env = await BenchEnvironment.StartAsync();
        var account = env.Account;
        var user = MailAddress.Parse("alice@example.test");
        var mailboxes = account.Tables.GetTableClient(StorageNames.MailboxTable);
        var blobRefs = account.Tables.GetTableClient(StorageNames.BlobRefsTable);
        var container = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        var writer = new MailboxWriter(mailboxes, blobRefs);

        var seed = Stopwatch.StartNew();
        var entries = new MailboxEntry[messageCount];
        await Parallel.ForEachAsync(Enumerable.Range(0, messageCount), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var bytes = Encoding.ASCII.GetBytes($"From: Sender {i % 97} <s{i % 97}@remote.example>\r\nTo: alice@example.test\r\nSubject: message {i}\r\nMessage-ID: <m{i}@remote.example>\r\nX-Bench: tag{i % 1000}\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\nContent-Type: text/plain\r\n\r\n{new string('x', 2000)}\r\nline {i}\r\n");
            var now = DateTimeOffset.UtcNow;
            var id = MessageIds.New(now);
            var blob = MessageIds.BlobPath(id, now);
            await container.GetBlobClient(blob).UploadAsync(new BinaryData(bytes), cancellationToken: ct);
            entries[i] = new MailboxEntry(id, blob, bytes.Length, now, i % 3 == 0 ? "\\Seen" : string.Empty, MailboxWriter.SummaryProperties(MessageSummary.Of(MimeParser.Parse(bytes, new MimeParserOptions { KeepRootHeaderUpTo = MessageSummary.MaxStoredHeader }))));
        });
        // Index in order (UIDs follow), 49 messages per entity-group transaction; blob references first, as always.
        foreach (var batch in entries.Chunk(490))
            await writer.AddAsync(user, "INBOX", batch, createFolder: true, CancellationToken.None);
        Console.WriteLine($"IMAP benchmark: {messageCount} messages seeded in {seed.Elapsed.TotalSeconds:F1} s, {Environment.ProcessorCount} cores, Azurite");

        var certificate = DevCertificate.LoadOrCreate(Path.Combine(Path.GetTempPath(), "mailcloud-bench-tls-" + Environment.ProcessId + ".pfx"));
        var options = new ImapServerOptions
        {
            HostName = "bench.mailcloud.test",
            Certificate = certificate,
            MaxConnectionsPerAddress = idleClients + 10,
            MaxConnections = idleClients + 10,
            PollInterval = TimeSpan.FromSeconds(2),
        };
        int port = AzuriteProcess.FreePort();
        options.Listeners.Add(new ImapListener("imaps", new IPEndPoint(IPAddress.Loopback, port), ImplicitTls: true));
        var server = ImapServerHost.Build(options, account, l => l.AddFilter(_ => false));
        await server.StartAsync();

        await using (var client = await Client.ConnectAsync(port))
        {
            await client.CommandAsync("LOGIN alice@example.test \"benchmark password\"");
            await Measure(account, "SELECT INBOX", () => client.CommandAsync("SELECT INBOX"));
            await Measure(account, "UID FETCH 1:* (FLAGS)", () => client.CommandAsync("UID FETCH 1:* (FLAGS)"));
            await Measure(account, "FETCH 1:* ENVELOPE", () => client.CommandAsync("FETCH 1:* ENVELOPE"));
            await Measure(account, "FETCH 1:* ENVELOPE (again, cached)", () => client.CommandAsync("FETCH 1:* ENVELOPE"));
            await Measure(account, "SEARCH SUBJECT \"message 4242\"", () => client.CommandAsync("SEARCH SUBJECT \"message 4242\""));
            await Measure(account, "SEARCH FROM s13@remote", () => client.CommandAsync("SEARCH FROM s13@remote"));
            await Measure(account, "SEARCH HEADER X-Bench tag7", () => client.CommandAsync("SEARCH HEADER X-Bench tag7"));
            var random = new Random(7);
            await Measure(account, "100 x UID FETCH n BODY.PEEK[]", async () =>
            {
                long bytes = 0;
                for (int i = 0; i < 100; i++)
                    bytes += await client.CommandAsync($"UID FETCH {random.Next(1, messageCount + 1)} BODY.PEEK[]");
                return bytes;
            });
            await client.CommandAsync("LOGOUT");
        }

        if (idleClients > 0)
        {
            // The idle clients share a second, ordinary mailbox (20 messages): 1,000 SELECTs of the 10,000-message
            // folder would measure the folder's size (40 bytes per message per session), not the connection.
            var idler = MailAddress.Parse("idle@example.test");
            await StorageProvisioner.Directory(account).AddUserAsync(idler, "benchmark password");
            await writer.AddAsync(idler, "INBOX", entries.Take(20).Select(e => e with { MessageId = e.MessageId + "i" }).ToList(), createFolder: true, CancellationToken.None);
            await IdleAsync(account, port, idleClients, writer, idler);
        }
        await server.StopAsync();
    }

    private static async Task Measure(StorageAccount account, string name, Func<Task<long>> action)
    {
        account.RequestCounter.Reset();
        var sw = Stopwatch.StartNew();
        var bytes = await action();
        sw.Stop();
        var counts = account.RequestCounter.Snapshot();
        Console.WriteLine($"  {name,-34} {sw.Elapsed.TotalMilliseconds,8:F0} ms  {bytes / 1024.0,9:F0} KiB sent  storage requests {account.RequestCounter.Total} ({string.Join(", ", counts.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))})");
    }

    private static async Task IdleAsync(StorageAccount account, int port, int clients, MailboxWriter writer, MailAddress user)
    {
        const string script = """
import socket, ssl, sys, time, selectors
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl._create_unverified_context()
conns = []
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b'a LOGIN idle@example.test "benchmark password"\r\nb SELECT INBOX\r\nc IDLE\r\n')
    while not f.readline().startswith(b"+"): pass
    conns.append((s, f))
print("ready", flush=True)
sys.stdin.readline()
t0 = time.time()
sel = selectors.DefaultSelector()
for s, f in conns:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
pending = set(s for s, _ in conns)
buf = {s: b"" for s, _ in conns}
while pending and time.time() - t0 < 60:
    for key, _ in sel.select(timeout=1):
        s = key.fileobj
        try:
            data = s.recv(65536)
        except ssl.SSLWantReadError:
            continue
        buf[s] += data
        if b"EXISTS" in buf[s] and s in pending:
            pending.discard(s)
print("seen %d of %d in %.2f s" % (n - len(pending), n, time.time() - t0), flush=True)
""";
        var psi = new ProcessStartInfo("python3") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", script, port.ToString(System.Globalization.CultureInfo.InvariantCulture), clients.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        long heapBefore = GC.GetTotalMemory(true), wsBefore = process.WorkingSet64;
        var connect = Stopwatch.StartNew();
        using var python = Process.Start(psi)!;
        var ready = await python.StandardOutput.ReadLineAsync();
        connect.Stop();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        process.Refresh();
        long heapAfter = GC.GetTotalMemory(true), wsAfter = process.WorkingSet64;
        Console.WriteLine($"  {clients} clients connected over TLS, logged in, selected a 20-message INBOX and entered IDLE in {connect.Elapsed.TotalSeconds:F1} s ({ready})");
        Console.WriteLine($"  server memory per idle connection: managed heap {(heapAfter - heapBefore) / clients / 1024.0:F1} KiB, working set {(wsAfter - wsBefore) / clients / 1024.0:F1} KiB");
        account.RequestCounter.Reset();
        await Task.Delay(TimeSpan.FromSeconds(10));
        Console.WriteLine($"  storage requests while {clients} clients idle for 10 s: {account.RequestCounter.Total} (one folder poll per 2 s for the shared folder)");
        // A delivery made elsewhere (the index function in production): found by the poll, pushed to every session.
        var bytes = Encoding.ASCII.GetBytes("Subject: new arrival\r\n\r\nhello\r\n");
        var now = DateTimeOffset.UtcNow;
        var id = MessageIds.New(now);
        var blob = MessageIds.BlobPath(id, now);
        await account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(blob).UploadAsync(new BinaryData(bytes));
        account.RequestCounter.Reset();
        await python.StandardInput.WriteLineAsync("go");
        await python.StandardInput.FlushAsync();
        await writer.AddAsync(user, "INBOX", [new MailboxEntry(id, blob, bytes.Length, now, string.Empty, MailboxWriter.SummaryProperties(MessageSummary.Of(MimeParser.Parse(bytes, new MimeParserOptions { KeepRootHeaderUpTo = MessageSummary.MaxStoredHeader }))))], createFolder: false, CancellationToken.None);
        var seen = await python.StandardOutput.ReadLineAsync();
        Console.WriteLine($"  new message delivered: {seen} (includes up to one 2 s poll interval); storage requests until then {account.RequestCounter.Total}");
        python.Kill();
    }

    /// <summary>A minimal IMAP client over TLS that counts the bytes of each response.</summary>
    /// <summary>
    /// Delivery (the index stage's write done) to <c>* n EXISTS</c> in an IDLE session, <paramref name="count"/> messages
    /// one after another: with the push hint (the in-process hub <c>up</c> uses; in Azure the same hint arrives by an
    /// HTTP POST) and without it (the 2 s poll alone).
    /// </summary>
    public static async Task PushLatencyAsync(int count)
    {
        await using var env = await BenchEnvironment.StartAsync();
        var account = env.Account;
        var user = MailAddress.Parse("alice@example.test");
        await new MailboxStore(account).EnsureDefaultFoldersAsync(user);
        var certificate = DevCertificate.LoadOrCreate(Path.Combine(Path.GetTempPath(), "mailcloud-bench-tls-" + Environment.ProcessId + ".pfx"));
        var hub = new MailboxChangeHub();
        var options = new ImapServerOptions { HostName = "bench.mailcloud.test", Certificate = certificate, PollInterval = TimeSpan.FromSeconds(2) };
        int port = AzuriteProcess.FreePort();
        options.Listeners.Add(new ImapListener("imaps", new IPEndPoint(IPAddress.Loopback, port), ImplicitTls: true));
        var server = ImapServerHost.Build(options, account, l => l.AddFilter(_ => false), hub);
        await server.StartAsync();
        var raw = Encoding.ASCII.GetBytes("From: a@remote.example\r\nTo: alice@example.test\r\nSubject: push\r\n\r\nhello\r\n");
        var summary = MessageSummary.Of(MimeParser.Parse(raw, new MimeParserOptions { KeepRootHeaderUpTo = MessageSummary.MaxStoredHeader }));
        Console.WriteLine($"IDLE push benchmark: delivery (index write done) -> * n EXISTS, {count} messages each way, poll interval 2 s, Azurite");
        int delivered = 0;
        await using var client = await Client.ConnectAsync(port);
        await client.CommandAsync("LOGIN alice@example.test \"benchmark password\"");
        await client.CommandAsync("SELECT INBOX");
        await client.StartIdleAsync();
        foreach (var (name, notifier) in new (string, IMailboxChangeNotifier)[] { ("push", hub), ("poll only", NoMailboxChangeNotifier.Instance) })
        {
            var indexer = new MailCloud.Pipeline.MailboxIndexer(account, changes: notifier);
            var times = new List<double>();
            long published = hub.Published;
            for (int i = 0; i < count; i++)
            {
                var item = new MailCloud.Pipeline.IndexWorkItem
                {
                    MessageId = $"push-{++delivered}", MessageBlob = "bench/none", Size = raw.Length, ReceivedAt = DateTimeOffset.UtcNow,
                    User = user.Address, Folder = "INBOX", Summary = summary, Verdict = new MailCloud.Pipeline.Verdict(),
                };
                var waiting = client.WaitForAsync($"* {delivered} EXISTS");
                await indexer.IndexAsync(user, item, CancellationToken.None);
                var sw = Stopwatch.StartNew();
                await waiting;
                times.Add(sw.Elapsed.TotalMilliseconds);
                await Task.Delay(Random.Shared.Next(50, 400)); // not in step with the poll
            }
            times.Sort();
            Console.WriteLine($"  {name,-10} p50 {times[times.Count / 2],7:F1} ms  p99 {times[(int)Math.Ceiling(times.Count * 0.99) - 1],7:F1} ms  max {times[^1],7:F1} ms  (hints published {hub.Published - published})");
        }
        await server.StopAsync();
    }

    private sealed class Client : IAsyncDisposable
    {
        private readonly TcpClient _tcp;
        private readonly SslStream _ssl;
        private readonly Stream _reader;
        private int _tag;

        private Client(TcpClient tcp, SslStream ssl)
        {
            _tcp = tcp;
            _ssl = ssl;
            _reader = new BufferedStream(ssl, 64 * 1024);
        }

        public static async Task<Client> ConnectAsync(int port)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port);
#pragma warning disable CA5359 // the benchmark's own self-signed certificate
            var ssl = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
#pragma warning restore CA5359
            await ssl.AuthenticateAsClientAsync("localhost");
            var client = new Client(tcp, ssl);
            await client.ReadLineAsync();
            return client;
        }

        /// <summary>Sends a command, reads to its tagged reply (literals skipped by count); returns the bytes received.</summary>
        public async Task<long> CommandAsync(string command)
        {
            var tag = $"b{++_tag}";
            await _ssl.WriteAsync(Encoding.UTF8.GetBytes($"{tag} {command}\r\n"));
            long total = 0;
            while (true)
            {
                var line = await ReadLineAsync();
                total += line.Length + 2;
                if (line.EndsWith('}') && line.LastIndexOf('{') is var open and >= 0 && long.TryParse(line.AsSpan(open + 1, line.Length - open - 2), out var literal))
                {
                    var buffer = new byte[literal];
                    await _reader.ReadExactlyAsync(buffer);
                    total += literal;
                    continue;
                }
                if (line.StartsWith(tag + " ", StringComparison.Ordinal))
                {
                    if (!line.StartsWith(tag + " OK", StringComparison.Ordinal))
                        throw new InvalidOperationException(line);
                    return total;
                }
            }
        }

        public async Task StartIdleAsync()
        {
            await _ssl.WriteAsync(Encoding.ASCII.GetBytes("i IDLE\r\n"));
            while (!(await ReadLineAsync()).StartsWith('+'))
            {
            }
        }

        /// <summary>Reads untagged lines until <paramref name="line"/> arrives.</summary>
        public async Task WaitForAsync(string line)
        {
            while (await ReadLineAsync() != line)
            {
            }
        }

        private async Task<string> ReadLineAsync()
        {
            var bytes = new List<byte>();
            var one = new byte[1];
            while (true)
            {
                if (await _reader.ReadAsync(one) == 0)
                    throw new IOException("connection closed");
                if (one[0] == '\n')
                    break;
                bytes.Add(one[0]);
            }
            if (bytes.Count > 0 && bytes[^1] == '\r')
                bytes.RemoveAt(bytes.Count - 1);
            return Encoding.UTF8.GetString(bytes.ToArray());
        }

        public async ValueTask DisposeAsync()
        {
            await _ssl.DisposeAsync();
            _tcp.Dispose();
        }
    }
}
