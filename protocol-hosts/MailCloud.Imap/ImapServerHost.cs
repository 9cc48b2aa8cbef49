using System.Net;
using System.Security.Cryptography.X509Certificates;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using MailCloud.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailCloud.Imap;

/// <summary>Builds the IMAP server: Kestrel listeners over the storage account, one folder watcher per process.</summary>
public static class ImapServerHost
{
    public static ImapServerOptions OptionsFromSettings(MailCloudSettings settings, ServerCertificate? certificate, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var options = new ImapServerOptions
        {
            HostName = settings.HostName,
            Certificate = certificate,
            LearnSpam = settings.SpamLearning,
        };
        if (settings.MaxConnectionsPerAddress is { } perAddress)
            options.MaxConnectionsPerAddress = perAddress;
        if (settings.MaxConnections is { } total)
            options.MaxConnections = total;
        if (environment("MAILCLOUD_IMAP_POLL") is { Length: > 0 } poll)
            options.PollInterval = Durations.Parse(poll);
        if (environment("MAILCLOUD_IMAP_CACHE") is { Length: > 0 } cache)
            options.CacheBytes = cache.Trim() is "off" or "0" ? 0 : ByteSize.TryParse(cache, out var bytes) ? bytes : throw new FormatException($"MAILCLOUD_IMAP_CACHE='{cache}' is not a size (256M, 1G, off)");
        if (environment("MAILCLOUD_IMAP_BODY_CACHE") is { Length: > 0 } bodies)
            options.BodyCacheBytes = bodies.Trim() is "off" or "0" ? 0 : ByteSize.TryParse(bodies, out var bytes) ? bytes : throw new FormatException($"MAILCLOUD_IMAP_BODY_CACHE='{bodies}' is not a size (32M, 128M, off)");
        foreach (var (name, endPoint, implicitTls) in MailboxServices.Listeners(settings, certificate is not null, "imap", "imaps"))
            options.Listeners.Add(new ImapListener(name, endPoint, implicitTls));
        return options;
    }

    /// <param name="changes">Pushed hints of changed folders (new mail indexed): idle sessions wake at once instead of at the next poll.</param>
    /// <param name="throttle">The login throttle shared with the other protocols of the process (a new one when null).</param>
    public static WebApplication Build(ImapServerOptions options, StorageAccount account, Action<ILoggingBuilder>? logging = null, MailboxChangeHub? changes = null, AuthThrottle? throttle = null)
    {
        var services = MailboxServices.Create(account, options.DirectoryCacheTtl, options.AuthMaxFailures, options.AuthFailureDelay, options.MaxConnections, options.MaxConnectionsPerAddress, options.CacheBytes, options.BodyCacheBytes)
            with { Training = options.LearnSpam ? new QueueSpamTraining(account) : NoSpamTraining.Instance };
        if (throttle is not null)
            services = services with { Throttle = throttle };
        FolderWatcher? watcher = null;
        var app = ProtocolHost.Build(options.Listeners, l => l.EndPoint, (app, listener) =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MailCloud.Imap");
            if (watcher is null)
            {
                watcher = new FolderWatcher(services.Store, options.PollInterval, logger);
                var hinted = watcher;
                var subscription = changes?.Subscribe(hinted.Notify);
                app.Lifetime.ApplicationStopping.Register(() => subscription?.Dispose());
            }
            return new ImapConnectionHandler(options, listener, services, watcher, logger, app.Lifetime.ApplicationStopping).OnConnectedAsync;
        }, logging);
        app.Lifetime.ApplicationStopped.Register(() => watcher?.DisposeAsync().AsTask().GetAwaiter().GetResult());
        return app;
    }
}
