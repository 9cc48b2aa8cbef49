using System.Net;
using MailCloud.Data;
using MailCloud.Imap;
using MailCloud.LocalDev;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Imap;

/// <summary>Over the connection limits, an implicit-TLS port says so inside TLS: a TLS client cannot read plaintext.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ImapLimitTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_refused_imaps_connection_gets_its_bye_after_the_handshake()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        using var certificate = DevCertificate.LoadOrCreate(Path.Combine(azurite.DataDirectory, "limit.pfx"));
        int port = AzuriteProcess.FreePort();
        var options = new ImapServerOptions { HostName = "imap.limit.test", Certificate = certificate, MaxConnectionsPerAddress = 1 };
        options.Listeners.Add(new ImapListener("imaps", new IPEndPoint(IPAddress.Loopback, port), ImplicitTls: true));
        await using var host = ImapServerHost.Build(options, account, l => l.AddFilter(_ => false));
        await host.StartAsync();

        using var first = await TlsLineClient.ConnectAsync(port);
        Assert.StartsWith("* OK", await first.Reader.ReadLineAsync(), StringComparison.Ordinal);
        using var second = await TlsLineClient.ConnectAsync(port); // the handshake succeeds...
        Assert.Equal("* BYE [UNAVAILABLE] Too many connections, try again later", await second.Reader.ReadLineAsync()); // ...and the refusal is readable
        await host.StopAsync();
    }
}
