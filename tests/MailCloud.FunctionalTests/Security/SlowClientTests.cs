using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MailCloud.Data;
using MailCloud.Imap;
using MailCloud.LocalDev;
using MailCloud.Pop3;
using MailCloud.Smtp;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Security;

/// <summary>
/// Slowloris: a client that sends a byte every few hundred milliseconds and never finishes a line. A per-read
/// timeout never fires for it; the deadlines do (SMTP per command and per DATA at a minimum rate, IMAP and POP3 for
/// the whole login), while a slow but real client that finishes its commands is not cut. Short limits (2 s) here.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class SlowClientTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(2);

    /// <summary>Dribbles one byte every 300 ms until the server closes (or 10 s pass); returns what it said last and when.</summary>
    private static async Task<(string? LastLine, TimeSpan After, bool Closed)> DribbleAsync(NetworkStream stream, StreamReader reader)
    {
        var clock = Stopwatch.StartNew();
        var read = reader.ReadLineAsync();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (read.IsCompleted)
            {
                var line = await read;
                if (line is null)
                    return (null, clock.Elapsed, true);
                // The reply to the slow client: then the server must close.
                var end = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5));
                return (line, clock.Elapsed, end is null);
            }
            try
            {
                await stream.WriteAsync("X"u8.ToArray());
            }
            catch (IOException)
            {
                return (null, clock.Elapsed, true);
            }
            await Task.WhenAny(read, Task.Delay(300));
        }
        return (null, clock.Elapsed, false);
    }

    private static async Task<(TcpClient, NetworkStream, StreamReader)> ConnectAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        return (client, stream, new StreamReader(stream, Encoding.ASCII));
    }

    [Fact]
    public async Task Smtp_cuts_a_command_or_data_that_never_ends_but_not_a_slow_client_that_finishes_its_commands()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var domain = AzuriteFixture.UniqueName("slow") + ".test";
        var directory = StorageProvisioner.Directory(account);
        await directory.AddDomainAsync(domain);
        await directory.AddUserAsync(MailCloud.Core.MailAddress.Parse("u@" + domain), "correct horse");
        int port = AzuriteProcess.FreePort();
        var options = new SmtpServerOptions { HostName = "mx.slow.test", MxGreetingDelay = TimeSpan.Zero, GreetingPassTtl = TimeSpan.Zero, CommandTimeout = Limit, DataTimeout = Limit };
        options.Listeners.Add(new SmtpListener("mx", new IPEndPoint(IPAddress.Loopback, port), SmtpListenerRole.Mx, false));
        await using var host = SmtpServerHost.Build(options, account, l => l.AddFilter(_ => false));
        await host.StartAsync();

        // A byte every 300 ms, never a line: cut after the command's 2 s, not kept for ever.
        var (c1, s1, r1) = await ConnectAsync(port);
        using (c1)
        {
            Assert.StartsWith("220", await r1.ReadLineAsync(), StringComparison.Ordinal);
            var (line, after, closed) = await DribbleAsync(s1, r1);
            Assert.StartsWith("421", line, StringComparison.Ordinal);
            Assert.True(closed && after < TimeSpan.FromSeconds(6), $"closed {closed} after {after}");
        }

        // Commands that each arrive within the limit, for longer than the limit in all: served throughout.
        var (c2, s2, r2) = await ConnectAsync(port);
        using (c2)
        {
            Assert.StartsWith("220", await r2.ReadLineAsync(), StringComparison.Ordinal);
            for (int i = 0; i < 4; i++)
            {
                await Task.Delay(1200);
                await s2.WriteAsync("NOOP\r\n"u8.ToArray());
                Assert.StartsWith("250", await r2.ReadLineAsync(), StringComparison.Ordinal);
            }
        }

        // DATA at a byte every 300 ms: far under the minimum rate, cut after the data limit.
        var (c3, s3, r3) = await ConnectAsync(port);
        using (c3)
        {
            Assert.StartsWith("220", await r3.ReadLineAsync(), StringComparison.Ordinal);
            foreach (var (command, expected) in new[] { ("HELO slow.example", "250"), ("MAIL FROM:<a@slow.example>", "250"), ($"RCPT TO:<u@{domain}>", "250"), ("DATA", "354") })
            {
                await s3.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
                Assert.StartsWith(expected, await r3.ReadLineAsync(), StringComparison.Ordinal);
            }
            var (line, after, closed) = await DribbleAsync(s3, r3);
            Assert.StartsWith("421", line, StringComparison.Ordinal);
            Assert.True(closed && after < TimeSpan.FromSeconds(6), $"closed {closed} after {after}, said {line}");
        }
        await host.StopAsync();
    }

    [Fact]
    public async Task Imap_and_pop3_give_a_dribbling_client_its_login_time_in_all_not_per_byte()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        int imapPort = AzuriteProcess.FreePort(), popPort = AzuriteProcess.FreePort();
        var imapOptions = new ImapServerOptions { HostName = "imap.slow.test", LoginTimeout = Limit };
        imapOptions.Listeners.Add(new ImapListener("imap", new IPEndPoint(IPAddress.Loopback, imapPort), ImplicitTls: false));
        var popOptions = new Pop3ServerOptions { HostName = "pop.slow.test", LoginTimeout = Limit };
        popOptions.Listeners.Add(new Pop3Listener("pop3", new IPEndPoint(IPAddress.Loopback, popPort), ImplicitTls: false));
        await using var imap = ImapServerHost.Build(imapOptions, account, l => l.AddFilter(_ => false));
        await using var pop = Pop3ServerHost.Build(popOptions, account, l => l.AddFilter(_ => false));
        await imap.StartAsync();
        await pop.StartAsync();

        foreach (var (port, greeting, bye) in new[] { (imapPort, "* OK", "* BYE"), (popPort, "+OK", "-ERR") })
        {
            var (c, s, r) = await ConnectAsync(port);
            using (c)
            {
                Assert.StartsWith(greeting, await r.ReadLineAsync(), StringComparison.Ordinal);
                var (line, after, closed) = await DribbleAsync(s, r);
                Assert.StartsWith(bye, line, StringComparison.Ordinal);
                Assert.True(closed && after < TimeSpan.FromSeconds(6), $"port {port}: closed {closed} after {after}");
            }
        }
        await imap.StopAsync();
        await pop.StopAsync();
    }
}
