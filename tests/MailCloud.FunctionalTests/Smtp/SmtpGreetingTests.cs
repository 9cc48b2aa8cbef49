using System.Net;
using System.Net.Sockets;
using System.Text;
using MailCloud.Data;
using MailCloud.LocalDev;
using MailCloud.Smtp;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Smtp;

/// <summary>
/// The MX greeting pause: early talkers are refused; a client that waited once is greeted at once afterwards
/// (postscreen's memory, so repeat senders are not capped at one message per pause), trusted networks never wait.
/// Observed through behaviour, not time: a remembered client may talk first and is still served.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class SmtpGreetingTests(AzuriteFixture azurite)
{
    private async Task<Microsoft.AspNetCore.Builder.WebApplication> StartAsync(int port, Action<SmtpServerOptions> configure)
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var options = new SmtpServerOptions { HostName = "mx.greeting.test", MxGreetingDelay = TimeSpan.FromMilliseconds(300) };
        options.Listeners.Add(new SmtpListener("smtp", new IPEndPoint(IPAddress.Loopback, port), SmtpListenerRole.Mx, false));
        configure(options);
        var app = SmtpServerHost.Build(options, account, l => l.AddFilter(_ => false));
        await app.StartAsync();
        return app;
    }

    /// <summary>Connects, sends EHLO without waiting for the greeting, and returns the first reply line.</summary>
    private static async Task<string> TalkFirstAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("EHLO early.example\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadLineAsync() ?? string.Empty;
    }

    /// <summary>Connects, waits for the greeting like a real MTA, and quits.</summary>
    private static async Task<string> WaitForGreetingAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var greeting = await reader.ReadLineAsync() ?? string.Empty;
        await stream.WriteAsync(Encoding.ASCII.GetBytes("QUIT\r\n"));
        return greeting;
    }

    [Fact]
    public async Task A_client_that_waited_once_is_greeted_at_once_and_early_talkers_are_refused()
    {
        int port = AzuriteProcess.FreePort();
        await using var app = await StartAsync(port, _ => { });
        Assert.StartsWith("554 5.5.1", await TalkFirstAsync(port), StringComparison.Ordinal); // never waited: refused
        Assert.StartsWith("220 mx.greeting.test", await WaitForGreetingAsync(port), StringComparison.Ordinal);
        Assert.StartsWith("220 mx.greeting.test", await TalkFirstAsync(port), StringComparison.Ordinal); // remembered: no pause, no check
    }

    [Fact]
    public async Task With_the_memory_off_every_connection_waits_and_trusted_networks_never_do()
    {
        int off = AzuriteProcess.FreePort();
        await using (var app = await StartAsync(off, o => o.GreetingPassTtl = TimeSpan.Zero))
        {
            Assert.StartsWith("220", await WaitForGreetingAsync(off), StringComparison.Ordinal);
            Assert.StartsWith("554 5.5.1", await TalkFirstAsync(off), StringComparison.Ordinal);
        }
        int trusted = AzuriteProcess.FreePort();
        await using (var app = await StartAsync(trusted, o => { o.GreetingPassTtl = TimeSpan.Zero; o.TrustedNetworks.Add(IPNetwork.Parse("127.0.0.0/8")); }))
            Assert.StartsWith("220 mx.greeting.test", await TalkFirstAsync(trusted), StringComparison.Ordinal);
    }
}
