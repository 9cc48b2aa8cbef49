using System.Net;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.LocalDev;
using MailCloud.Mime;
using MailCloud.Pipeline;
using MailCloud.Pop3;
using MailCloud.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Pop3;

/// <summary>A real POP3 server (Kestrel, TLS) over its own Azurite; mail is put into mailboxes by the real indexer.</summary>
public sealed class Pop3Fixture : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "mailcloud-pop3-tests", Guid.NewGuid().ToString("N"));
    private WebApplication? _app;

    public AzuriteProcess Azurite { get; private set; } = null!;
    public StorageAccount Account { get; private set; } = null!;
    public int PlainPort { get; } = AzuriteProcess.FreePort();
    public int TlsPort { get; } = AzuriteProcess.FreePort();
    public const string Password = "correct horse";

    public Dictionary<string, string> Env => new()
    {
        ["POP"] = PlainPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["POPS"] = TlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["PASSWORD"] = Password,
    };

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteProcess.StartAsync(Path.Combine(_data, "azurite"));
        Account = new StorageAccount(Azurite.Connection);
        await StorageProvisioner.EnsureCreatedAsync(Account);
        var directory = StorageProvisioner.Directory(Account);
        await directory.AddDomainAsync("example.test");
        foreach (var user in new[] { "alice", "bob", "carol", "dave", "erin" })
            await directory.AddUserAsync(MailAddress.Parse($"{user}@example.test"), Password);

        var options = new Pop3ServerOptions
        {
            HostName = "pop.mailcloud.test",
            Certificate = DevCertificate.LoadOrCreate(Path.Combine(_data, "tls.pfx")),
            AuthMaxFailures = 3,
            AuthFailureDelay = TimeSpan.FromMilliseconds(100),
        };
        options.Listeners.Add(new Pop3Listener("pop3", new IPEndPoint(IPAddress.Loopback, PlainPort), false));
        options.Listeners.Add(new Pop3Listener("pop3s", new IPEndPoint(IPAddress.Loopback, TlsPort), true));
        _app = Pop3ServerHost.Build(options, Account, l => l.AddFilter(_ => false));
        await _app.StartAsync();
    }

    /// <summary>Stores a raw message and indexes it into the user's INBOX, as the pipeline does.</summary>
    public async Task DeliverAsync(string user, string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        var now = DateTimeOffset.UtcNow;
        var id = MessageIds.New(now);
        var blob = MessageIds.BlobPath(id, now);
        await Account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(blob).UploadAsync(new MemoryStream(bytes));
        var indexer = new MailboxIndexer(Account);
        await indexer.IndexAsync(MailAddress.Parse(user), new IndexWorkItem
        {
            MessageId = id,
            MessageBlob = blob,
            Size = bytes.Length,
            User = user,
            Folder = "INBOX",
            ReceivedAt = now,
            Verdict = new Verdict(),
            Summary = MessageSummary.Of(MimeParser.Parse(bytes)),
        }, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        await Azurite.DisposeAsync();
        try { Directory.Delete(_data, true); } catch (IOException) { }
    }
}
