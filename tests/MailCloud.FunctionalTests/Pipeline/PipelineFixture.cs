using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FunctionalTests.Cli;
using MailCloud.FunctionalTests.Smtp;
using MailCloud.Functions;
using MailCloud.LocalDev;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Pipeline;

/// <summary>The whole local system: Azurite, the SMTP server, and the isolated-worker functions run by the local driver.</summary>
public class PipelineFixture : SmtpFixture
{
    private LocalFunctionsHost? _functions;

    public FunctionsDriver Driver => _functions!.Driver;

    protected override async Task SeedAsync()
    {
        await base.SeedAsync();
        await Directory.AddDomainAsync("catchall.test");
        await Directory.SetCatchAllAsync("catchall.test", MailAddress.Parse("bob@example.test"));
        await Directory.AddAliasAsync(MailAddress.Parse("sales@example.test"), [MailAddress.Parse("bob@example.test"), MailAddress.Parse("dave@remote.example")]);
        // Seven members: more than the inbound stage indexes inline (5), so the rest go through the index queue.
        var everyone = Enumerable.Range(1, 7).Select(i => MailAddress.Parse($"member{i}@example.test")).ToList();
        foreach (var member in everyone)
            await Directory.AddUserAsync(member, Password);
        await Directory.AddListAsync(MailAddress.Parse("everyone@example.test"), everyone);
        await Directory.AddListAsync(MailAddress.Parse("team@example.test"), [MailAddress.Parse("alice@example.test"), MailAddress.Parse("bob@example.test"), MailAddress.Parse("carol@remote.example")]);
    }

    protected override async Task OnStartedAsync()
    {
        // No DNS server here: SPF/DMARC lookups fail at once (a closed local port) and say temperror, so these tests
        // never depend on the machine's resolver. AuthenticationTests cover the checks against a real DNS server.
        var noDns = new MailCloud.Dns.DnsResolver([new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, AzuriteProcess.FreePort())], TimeSpan.FromMilliseconds(300), attempts: 1);
        var pipeline = Configure(new PipelineSettings(Account, Options.HostName) { Dns = noDns });
        // Remote delivery has its own tests (DeliveryTests, with a DNS server and SMTP peers); here outbound items stay put.
        _functions = LocalFunctionsHost.Create(Account, typeof(PipelineFunctions).Assembly, s => s.AddMailCloudPipeline(pipeline),
            Path.Combine(MailCloudToolTests.RepoRoot(), "host.json"), include: t => t.Function != "deliver");
        _functions.Start();
        await Task.CompletedTask;
    }

    /// <summary>A subclass's additions to the pipeline (content engines, retry delays).</summary>
    protected virtual PipelineSettings Configure(PipelineSettings settings) => settings;

    protected override async Task OnStoppingAsync()
    {
        if (_functions is not null)
            await _functions.DisposeAsync();
    }

    public TableClient Mailboxes => Account.Tables.GetTableClient(StorageNames.MailboxTable);

    public static string Partition(string user) => TableMailboxUsage.Partition(MailAddress.Parse(user));

    /// <summary>Message rows of a user's folder.</summary>
    public async Task<List<TableEntity>> MessagesAsync(string user, string folder = "INBOX")
    {
        var list = new List<TableEntity>();
        await foreach (var e in Mailboxes.QueryRowsAsync(TableFilter.And(TableFilter.PartitionKey(Partition(user)), TableFilter.RowKeyPrefix($"msg:{folder}:"))))
            list.Add(e);
        return list;
    }

    /// <summary>Waits (bounded) until a message with this subject is in the folder.</summary>
    public async Task<TableEntity> WaitForAsync(string user, string subject, string folder = "INBOX", TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            var hit = (await MessagesAsync(user, folder)).FirstOrDefault(e => e.GetString("Subject")?.Contains(subject, StringComparison.Ordinal) == true);
            if (hit is not null)
                return hit;
            await Task.Delay(200);
        }
        throw new TimeoutException($"no message '{subject}' in {user}/{folder}");
    }
}

[CollectionDefinition(Name)]
public sealed class PipelineCollection : ICollectionFixture<PipelineFixture>
{
    public const string Name = "Pipeline";
}
