using System.Net;
using System.Security.Cryptography.X509Certificates;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using MailCloud.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailCloud.Pop3;

/// <summary>Builds the POP3 server: Kestrel listeners over the storage account.</summary>
public static class Pop3ServerHost
{
    public static Pop3ServerOptions OptionsFromSettings(MailCloudSettings settings, X509Certificate2? certificate)
    {
        var bind = IPAddress.Parse(settings.BindAddress);
        var options = new Pop3ServerOptions
        {
            HostName = settings.HostName,
            Certificate = certificate,
        };
        foreach (var l in MailCloudSettings.Listeners)
        {
            if (l.Name == "pop3")
                options.Listeners.Add(new Pop3Listener(l.Name, new IPEndPoint(bind, settings.Port(l)), ImplicitTls: false));
            else if (l.Name == "pop3s" && certificate is not null)
                options.Listeners.Add(new Pop3Listener(l.Name, new IPEndPoint(bind, settings.Port(l)), ImplicitTls: true));
        }
        return options;
    }

    public static WebApplication Build(Pop3ServerOptions options, StorageAccount account, Action<ILoggingBuilder>? logging = null)
    {
        var directory = new CachingMailDirectory(StorageProvisioner.Directory(account), options.DirectoryCacheTtl);
        var store = new MailboxStore(account.Tables.GetTableClient(StorageNames.MailboxTable), account.Tables.GetTableClient(StorageNames.BlobRefsTable));
        var messages = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        var throttle = new AuthThrottle(options.AuthMaxFailures, delayPerFailure: options.AuthFailureDelay);
        var limiter = new ConnectionLimiter(options.MaxConnections, options.MaxConnectionsPerAddress);
        return ProtocolHost.Build(options.Listeners, l => l.EndPoint, (app, listener) =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MailCloud.Pop3");
            return new Pop3ConnectionHandler(options, listener, directory, store, messages, throttle, limiter, logger, app.Lifetime.ApplicationStopping).OnConnectedAsync;
        }, logging);
    }
}
