using System.Diagnostics;
using System.Net;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Imap;
using MailCloud.LocalDev;
using MailCloud.Mime;
using MailCloud.Pipeline;
using MailCloud.Web;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Imap;

/// <summary>
/// New mail reaches IDLE through the push channel the index stage uses in Azure: an HTTP POST to the web front end's
/// <c>/internal/mailbox-changed</c>. The IMAP poll is set to a minute, so only the push can explain an EXISTS within
/// seconds. A wrong key is refused and wakes nobody.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ImapPushTests(AzuriteFixture azurite)
{
    private const string Password = "push test password";

    [Fact]
    public async Task A_pushed_hint_wakes_an_idle_session_long_before_the_poll()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var user = MailAddress.Parse($"{AzuriteFixture.UniqueName("push")}@push.test");
        var directory = StorageProvisioner.Directory(account);
        await directory.AddDomainAsync("push.test");
        await directory.AddUserAsync(user, Password);
        await new MailboxStore(account).EnsureDefaultFoldersAsync(user);

        using var certificate = DevCertificate.LoadOrCreate(Path.Combine(azurite.DataDirectory, "push.pfx"));
        var hub = new MailboxChangeHub();
        int imapPort = AzuriteProcess.FreePort(), webPort = AzuriteProcess.FreePort();
        var options = new ImapServerOptions { HostName = "imap.push.test", Certificate = certificate, PollInterval = TimeSpan.FromMinutes(1) };
        options.Listeners.Add(new ImapListener("imaps", new IPEndPoint(IPAddress.Loopback, imapPort), ImplicitTls: true));
        await using var imap = ImapServerHost.Build(options, account, l => l.AddFilter(_ => false), hub);
        await imap.StartAsync();
        const string key = "the-shared-push-key";
        await using var web = WebHost.Build(new IPEndPoint(IPAddress.Loopback, webPort), new ClientEndpoints("push.test", 1, 2, 3, 4, 5), account,
            l => l.AddFilter(_ => false), changes: hub, pushKey: key);
        await web.StartAsync();

        using var client = await ConnectAsync(imapPort);
        await client.ImapCommandAsync($"a LOGIN {user.Address} \"{Password}\"");
        await client.ImapCommandAsync("b SELECT INBOX");
        await client.Writer.WriteAsync("c IDLE\r\n");
        Assert.StartsWith("+", await client.Reader.ReadLineAsync(), StringComparison.Ordinal);

        var endpoint = new Uri($"http://127.0.0.1:{webPort}{HttpMailboxChangeNotifier.Path}");
        using var http = new HttpClient();
        // A wrong key: refused, nothing published.
        var refused = new HttpMailboxChangeNotifier(http, endpoint, "not-the-key");
        await refused.MailboxChangedAsync(user, "INBOX");
        Assert.Equal(1, refused.Failures);
        Assert.Equal(0, hub.Published);

        // The index stage adds a message and pushes the hint, as the function does in Azure.
        var notifier = new HttpMailboxChangeNotifier(http, endpoint, key);
        var indexer = new MailboxIndexer(account, changes: notifier);
        var raw = Encoding.ASCII.GetBytes("From: a@remote.example\r\nTo: x@push.test\r\nSubject: pushed\r\n\r\nhello\r\n");
        var summary = MessageSummary.Of(MimeParser.Parse(raw, new MimeParserOptions { KeepRootHeaderUpTo = MessageSummary.MaxStoredHeader }));
        var sw = Stopwatch.StartNew();
        await indexer.IndexAsync(user, new IndexWorkItem
        {
            MessageId = "push-1", MessageBlob = "push/none", Size = raw.Length, ReceivedAt = DateTimeOffset.UtcNow, User = user.Address, Folder = "INBOX",
            Summary = summary, Verdict = new Verdict(),
        }, CancellationToken.None);
        Assert.Equal(0, notifier.Failures);
        Assert.Equal(1, hub.Published);
        var line = await client.Reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("* 1 EXISTS", line);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"EXISTS after {sw.Elapsed}"); // the poll would take up to 60 s
        await client.Writer.WriteAsync("DONE\r\n");
        await imap.StopAsync();
        await web.StopAsync();
    }

    private static async Task<TlsLineClient> ConnectAsync(int port)
    {
        var client = await TlsLineClient.ConnectAsync(port);
        Assert.StartsWith("* OK", await client.Reader.ReadLineAsync(), StringComparison.Ordinal);
        return client;
    }
}
