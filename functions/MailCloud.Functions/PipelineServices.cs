using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Dns;
using MailCloud.Pipeline;
using MailCloud.Pipeline.Authentication;
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

    /// <summary>Where the index stage announces new mail (the front ends' push endpoint, or the in-process hub of <c>up</c>).</summary>
    public IMailboxChangeNotifier? Changes { get; init; }

    public static PipelineSettings FromEnvironment(MailCloudSettings settings) =>
        new(StorageFactory.Account(settings), settings.HostName) { Secrets = StorageFactory.Secrets(settings), Changes = HttpMailboxChangeNotifier.FromEnvironment() };
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
            return new InboundProcessor(settings.Account, sp.GetRequiredService<IMailDirectory>(), MessageFilter.Default(settings.HostName, authentication, blockLists),
                sp.GetRequiredService<MailboxIndexer>(), settings.HostName, Logger(sp, "inbound"));
        });
        services.AddSingleton(sp => new RemoteDeliverer(settings.Account, sp.GetRequiredService<DnsResolver>(), settings.Delivery ?? DeliveryOptions.FromEnvironment(),
            settings.HostName, Logger(sp, "deliver"), directory: sp.GetRequiredService<IMailDirectory>()));
        services.AddSingleton(sp => new Housekeeping(settings.Account, settings.OrphanAge, Logger(sp, "housekeeping")));
        services.AddTransient<PipelineFunctions>();
        return services;
    }

    private static ILogger Logger(IServiceProvider sp, string stage) =>
        sp.GetService<ILoggerFactory>()?.CreateLogger("MailCloud.Pipeline." + stage) ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
}
