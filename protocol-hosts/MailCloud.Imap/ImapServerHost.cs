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
    public static ImapServerOptions OptionsFromSettings(MailCloudSettings settings, X509Certificate2? certificate, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var bind = IPAddress.Parse(settings.BindAddress);
        var options = new ImapServerOptions
        {
            HostName = settings.HostName,
            Certificate = certificate,
        };
        if (environment("MAILCLOUD_IMAP_POLL") is { Length: > 0 } poll)
            options.PollInterval = Durations.Parse(poll);
        foreach (var l in MailCloudSettings.Listeners)
        {
            if (l.Name == "imap")
                options.Listeners.Add(new ImapListener(l.Name, new IPEndPoint(bind, settings.Port(l)), ImplicitTls: false));
            else if (l.Name == "imaps" && certificate is not null)
                options.Listeners.Add(new ImapListener(l.Name, new IPEndPoint(bind, settings.Port(l)), ImplicitTls: true));
        }
        return options;
    }

    public static WebApplication Build(ImapServerOptions options, StorageAccount account, Action<ILoggingBuilder>? logging = null)
    {
        var directory = new CachingMailDirectory(StorageProvisioner.Directory(account), options.DirectoryCacheTtl);
        var store = new MailboxStore(account.Tables.GetTableClient(StorageNames.MailboxTable), account.Tables.GetTableClient(StorageNames.BlobRefsTable));
        var messages = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        var throttle = new AuthThrottle(options.AuthMaxFailures, delayPerFailure: options.AuthFailureDelay);
        var limiter = new ConnectionLimiter(options.MaxConnections, options.MaxConnectionsPerAddress);
        FolderWatcher? watcher = null;
        var app = ProtocolHost.Build(options.Listeners, l => l.EndPoint, (app, listener) =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MailCloud.Imap");
            watcher ??= new FolderWatcher(store, options.PollInterval, logger);
            return new ImapConnectionHandler(options, listener, directory, store, messages, throttle, watcher, limiter, logger, app.Lifetime.ApplicationStopping).OnConnectedAsync;
        }, logging);
        app.Lifetime.ApplicationStopped.Register(() => watcher?.DisposeAsync().AsTask().GetAwaiter().GetResult());
        return app;
    }
}
