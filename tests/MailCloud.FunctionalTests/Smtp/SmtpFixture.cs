using System.Net;
using System.Security.Cryptography.X509Certificates;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.LocalDev;
using MailCloud.Smtp;
using MailCloud.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Smtp;

/// <summary>
/// A real MailCloud SMTP server (Kestrel, real sockets, real TLS) on free ports over its own Azurite, with a hosted
/// domain and users. Limits are set low so the tests can reach them quickly.
/// </summary>
public class SmtpFixture : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "mailcloud-smtp-tests", Guid.NewGuid().ToString("N"));
    private WebApplication? _app;

    public AzuriteProcess Azurite { get; private set; } = null!;
    public StorageAccount Account { get; private set; } = null!;
    public TableMailDirectory Directory { get; private set; } = null!;
    public X509Certificate2 Certificate { get; private set; } = null!;
    public SmtpServerOptions Options { get; } = new()
    {
        HostName = "mx.mailcloud.test",
        MaxRecipients = 5,
        MaxMessageSize = 256 * 1024,
        MxGreetingDelay = TimeSpan.FromMilliseconds(300),
        // Every test client comes from 127.0.0.1, so the greeting memory would spare all but the first from the early
        // talker check; SmtpGreetingTests cover the memory on a host of their own.
        GreetingPassTtl = TimeSpan.Zero,
        MaxErrors = 10,
        MaxConnectionsPerAddress = 5,
        AuthMaxFailures = 3,
        AuthFailureDelay = TimeSpan.FromMilliseconds(200),
        CommandTimeout = TimeSpan.FromSeconds(30),
    };

    public int MxPort { get; } = AzuriteProcess.FreePort();
    public int SubmissionPort { get; } = AzuriteProcess.FreePort();
    public int SubmissionsPort { get; } = AzuriteProcess.FreePort();

    public const string Password = "correct horse";

    /// <summary>Environment for the python client scripts.</summary>
    public Dictionary<string, string> Env => new()
    {
        ["MX"] = MxPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SUB"] = SubmissionPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SUBS"] = SubmissionsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["PASSWORD"] = Password,
    };

    protected virtual async Task SeedAsync()
    {
        await Directory.AddDomainAsync("example.test");
        await Directory.AddUserAsync(MailAddress.Parse("alice@example.test"), Password);
        await Directory.AddUserAsync(MailAddress.Parse("bob@example.test"), Password);
        await Directory.AddUserAsync(MailAddress.Parse("δοκιμή@example.test"), Password);
        await Directory.AddUserAsync(MailAddress.Parse("full@example.test"), Password, quotaBytes: 1000);
        await Directory.AddAliasAsync(MailAddress.Parse("postmaster@example.test"), [MailAddress.Parse("alice@example.test")]);
        // Usage is the sum of the folder rows' bytes; here an INBOX row says the mailbox already holds more than its quota.
        await Account.Tables.GetTableClient(StorageNames.MailboxTable).UpsertEntityAsync(
            new TableEntity(TableMailboxUsage.Partition(MailAddress.Parse("full@example.test")), MailboxKeys.FolderRow("INBOX"))
            {
                ["Name"] = "INBOX", ["UidValidity"] = 1L, ["UidNext"] = 1L, ["HighestModSeq"] = 0L, ["Exists"] = 0, ["Unseen"] = 0, ["Bytes"] = 5000L,
            });
    }

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteProcess.StartAsync(Path.Combine(_data, "azurite"));
        Account = new StorageAccount(Azurite.Connection);
        await StorageProvisioner.EnsureCreatedAsync(Account);
        Directory = StorageProvisioner.Directory(Account);
        Certificate = DevCertificate.LoadOrCreate(Path.Combine(_data, "tls.pfx"));
        await SeedAsync();

        Options.Certificate = Certificate;
        Options.Listeners.Add(new SmtpListener("smtp", new IPEndPoint(IPAddress.Loopback, MxPort), SmtpListenerRole.Mx, false));
        Options.Listeners.Add(new SmtpListener("submission", new IPEndPoint(IPAddress.Loopback, SubmissionPort), SmtpListenerRole.Submission, false));
        Options.Listeners.Add(new SmtpListener("submissions", new IPEndPoint(IPAddress.Loopback, SubmissionsPort), SmtpListenerRole.Submission, true));
        await StartServerAsync();
        await OnStartedAsync();
    }

    protected virtual Task OnStoppingAsync() => Task.CompletedTask;

    /// <summary>For fixtures that run more than the SMTP server over the same storage.</summary>
    protected virtual Task OnStartedAsync() => Task.CompletedTask;

    /// <summary>Starts Azurite again on the same ports and data folder (after a test stopped it).</summary>
    public async Task RestartAzuriteAsync(int blobPort, int queuePort, int tablePort)
    {
        await Azurite.DisposeAsync();
        Azurite = await AzuriteProcess.StartAsync(Path.Combine(_data, "azurite"), "127.0.0.1", blobPort, queuePort, tablePort);
    }

    public async Task StartServerAsync()
    {
        _app = SmtpServerHost.Build(Options, Account, l => l.AddFilter(_ => false));
        await _app.StartAsync();
    }

    public async Task StopServerAsync()
    {
        if (_app is null)
            return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    public QueueClient Inbound => Account.Queues.GetQueueClient(StorageNames.InboundQueue);

    /// <summary>Finds (and removes) the inbound work item for a message id.</summary>
    public async Task<(InboundWorkItem Item, Envelope Envelope)> TakeWorkItemAsync(string messageId)
    {
        var spool = new StorageMessageSpool(Account);
        for (int attempt = 0; attempt < 20; attempt++)
        {
            foreach (var m in (await Inbound.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(1))).Value)
            {
                var (item, envelope) = await spool.ReadWorkItemAsync(m.Body);
                if (item.MessageId == messageId)
                {
                    await Inbound.DeleteMessageAsync(m.MessageId, m.PopReceipt!);
                    return (item, envelope);
                }
            }
            await Task.Delay(300);
        }
        throw new InvalidOperationException($"no work item for {messageId}");
    }

    public async Task<string> ReadMessageAsync(InboundWorkItem item) =>
        (await Account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(item.MessageBlob).DownloadContentAsync()).Value.Content.ToString();

    public virtual async Task DisposeAsync()
    {
        await OnStoppingAsync();
        await StopServerAsync();
        await Azurite.DisposeAsync();
        try { System.IO.Directory.Delete(_data, true); } catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class SmtpCollection : ICollectionFixture<SmtpFixture>
{
    public const string Name = "Smtp";
}
