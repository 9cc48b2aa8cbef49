using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Dns;
using MailCloud.Pipeline;
using MailCloud.Filtering;
using MailCloud.Pipeline.Authentication;
using MailCloud.Pipeline.Content;
using MailCloud.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailCloud.Functions;

/// <summary>What the pipeline is composed from; the worker builds it from MAILCLOUD_* settings, tests and <c>up</c> from their own.</summary>
public sealed record PipelineSettings(StorageAccount Account, string HostName)
{
    public TimeSpan OrphanAge { get; init; } = TimeSpan.FromDays(30);
    public DeliveryOptions? Delivery { get; init; }
    public DnsResolver? Dns { get; init; }

    /// <summary>Where DKIM private keys live when the deployment has a Key Vault (the directory row only names them).</summary>
    public ISecretStore? Secrets { get; init; }

    public IReadOnlyList<string>? BlockLists { get; init; }

    /// <summary>rspamd (content scoring and learning); null uses the built-in scorer.</summary>
    public RspamdClient? Rspamd { get; init; }

    /// <summary>clamd (virus scanning); null scans for no viruses.</summary>
    public ClamdClient? Clamd { get; init; }

    /// <summary>Deliver unscanned while an engine is down (MAILCLOUD_FILTER_FAIL_OPEN) instead of retrying.</summary>
    public bool FailOpen { get; init; }

    public InboundOptions? Inbound { get; init; }
    public TimeSpan QuarantineRetention { get; init; } = TimeSpan.FromDays(30);
    public TimeSpan TraceRetention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Where and how many automatic backups go; null uses the main account's <c>backups</c> container and the default retention.</summary>
    public StoredBackups? Backups { get; init; }
    public BackupRetention BackupRetention { get; init; } = new();

    /// <summary>Where the index stage announces new mail (the front ends' push endpoint, or the in-process hub of <c>up</c>).</summary>
    public IMailboxChangeNotifier? Changes { get; init; }

    public static PipelineSettings FromEnvironment(MailCloudSettings settings) =>
        new PipelineSettings(StorageFactory.Account(settings), settings.HostName) { Secrets = StorageFactory.Secrets(settings), Changes = HttpMailboxChangeNotifier.FromEnvironment() }.WithEngines(settings);

    /// <summary>The content engines and their settings from MAILCLOUD_RSPAMD_*, MAILCLOUD_CLAMD* and MAILCLOUD_FILTER_FAIL_OPEN.</summary>
    public PipelineSettings WithEngines(MailCloudSettings settings) => this with
    {
        Rspamd = settings.RspamdUrl is { } url
            ? new RspamdClient(new HttpClient { Timeout = settings.RspamdTimeout }, url, settings.RspamdControllerUrl, settings.RspamdPassword)
            : null,
        Clamd = settings.Clamd is { } clamd ? new ClamdClient(ClamdClient.ParseEndPoint(clamd), settings.ClamdMaxStream, settings.ClamdTimeout) : null,
        FailOpen = settings.FilterFailOpen,
        QuarantineRetention = settings.QuarantineRetention,
        TraceRetention = settings.TraceRetention,
        Backups = StoredBackups.FromSettings(Account, settings),
        BackupRetention = StoredBackups.Retention(settings),
    };
}

/// <summary>The one composition of the pipeline stages, used by the worker host and by the local driver alike.</summary>
public static class PipelineServices
{
    public static IServiceCollection AddMailCloudPipeline(this IServiceCollection services, PipelineSettings settings)
    {
        services.AddSingleton(settings.Account);
        services.AddSingleton<IMailDirectory>(_ => new CachingMailDirectory(StorageProvisioner.Directory(settings.Account, settings.Secrets), TimeSpan.FromSeconds(30)));
        services.AddSingleton(_ => settings.Dns ?? DnsResolver.FromEnvironment());
        services.AddSingleton(_ => new MailboxIndexer(settings.Account, changes: settings.Changes));
        services.AddSingleton(sp =>
        {
            var dns = sp.GetRequiredService<DnsResolver>();
            var authentication = new AuthenticationCheck(dns, new BlobMessageContent(settings.Account));
            var blockLists = new DnsblCheck(dns, settings.BlockLists ?? DnsblCheck.ZonesFromEnvironment());
            var messages = new BlobMessageContent(settings.Account);
            var directory = sp.GetRequiredService<IMailDirectory>();
            // rspamd does what the built-in scorer does and much more: one or the other, never both.
            IMessageCheck content = settings.Rspamd is { } rspamd ? new RspamdCheck(rspamd, messages, settings.HostName, settings.FailOpen) : new HeuristicCheck(directory);
            IMessageCheck[] checks = settings.Clamd is { } clamd
                ? [authentication, blockLists, content, new ClamdCheck(clamd, messages, settings.FailOpen)]
                : [authentication, blockLists, content];
            return new InboundProcessor(settings.Account, directory, MessageFilter.Default(settings.HostName, checks),
                sp.GetRequiredService<MailboxIndexer>(), settings.HostName, Logger(sp, "inbound"), settings.Inbound);
        });
        services.AddSingleton(sp => new SpamLearner(settings.Rspamd, new BlobMessageContent(settings.Account), Logger(sp, "learn")));
        services.AddSingleton(sp => new RemoteDeliverer(settings.Account, sp.GetRequiredService<DnsResolver>(), settings.Delivery ?? DeliveryOptions.FromEnvironment(),
            settings.HostName, Logger(sp, "deliver"), directory: sp.GetRequiredService<IMailDirectory>()));
        services.AddSingleton(sp => new Housekeeping(settings.Account, settings.OrphanAge, Logger(sp, "housekeeping"), quarantineRetention: settings.QuarantineRetention, traceRetention: settings.TraceRetention));
        services.AddSingleton(sp => new ScheduledBackup(settings.Backups ?? StoredBackups.InAccount(settings.Account),
            settings.BackupRetention, Logger(sp, "backup")));
        services.AddTransient<PipelineFunctions>();
        return services;
    }

    private static ILogger Logger(IServiceProvider sp, string stage) =>
        sp.GetService<ILoggerFactory>()?.CreateLogger("MailCloud.Pipeline." + stage) ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
}
