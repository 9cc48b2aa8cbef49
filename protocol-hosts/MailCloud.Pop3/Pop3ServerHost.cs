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
    public static Pop3ServerOptions OptionsFromSettings(MailCloudSettings settings, ServerCertificate? certificate)
    {
        var options = new Pop3ServerOptions
        {
            HostName = settings.HostName,
            Certificate = certificate,
        };
        if (settings.MaxConnectionsPerAddress is { } perAddress)
            options.MaxConnectionsPerAddress = perAddress;
        if (settings.MaxConnections is { } total)
            options.MaxConnections = total;
        foreach (var (name, endPoint, implicitTls) in MailboxServices.Listeners(settings, certificate is not null, "pop3", "pop3s"))
            options.Listeners.Add(new Pop3Listener(name, endPoint, implicitTls));
        return options;
    }

    /// <param name="throttle">The login throttle shared with the other protocols of the process (a new one when null).</param>
    public static WebApplication Build(Pop3ServerOptions options, StorageAccount account, Action<ILoggingBuilder>? logging = null, AuthThrottle? throttle = null)
    {
        var services = MailboxServices.Create(account, options.DirectoryCacheTtl, options.AuthMaxFailures, options.AuthFailureDelay, options.MaxConnections, options.MaxConnectionsPerAddress);
        if (throttle is not null)
            services = services with { Throttle = throttle };
        return ProtocolHost.Build(options.Listeners, l => l.EndPoint, (app, listener) =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MailCloud.Pop3");
            return new Pop3ConnectionHandler(options, listener, services, logger, app.Lifetime.ApplicationStopping).OnConnectedAsync;
        }, logging);
    }
}
