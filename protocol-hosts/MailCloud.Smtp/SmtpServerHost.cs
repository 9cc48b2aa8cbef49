using System.Net;
using System.Security.Cryptography.X509Certificates;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using MailCloud.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailCloud.Smtp;

/// <summary>Builds the SMTP server: Kestrel listeners (one per <see cref="SmtpListener"/>) over the storage account.</summary>
public static class SmtpServerHost
{
    /// <summary>Listeners and limits from the MAILCLOUD_* settings (ports, bind address, host name).</summary>
    public static SmtpServerOptions OptionsFromSettings(MailCloudSettings settings, ServerCertificate? certificate)
    {
        var bind = IPAddress.Parse(settings.BindAddress);
        var options = new SmtpServerOptions
        {
            HostName = settings.HostName,
            Certificate = certificate,
        };
        if (settings.MaxConnectionsPerAddress is { } perAddress)
            options.MaxConnectionsPerAddress = perAddress;
        if (settings.MaxConnections is { } total)
            options.MaxConnections = total;
        if (Environment.GetEnvironmentVariable("MAILCLOUD_SMTP_GREETING_PASS") is { Length: > 0 } pass)
            options.GreetingPassTtl = pass.Trim().Equals("off", StringComparison.OrdinalIgnoreCase) ? TimeSpan.Zero : Durations.Parse(pass);
        if (Environment.GetEnvironmentVariable("MAILCLOUD_SMTP_TRUSTED_NETWORKS") is { Length: > 0 } trusted)
            options.TrustedNetworks.AddRange(trusted.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(IPNetwork.Parse));
        foreach (var l in MailCloudSettings.Listeners)
        {
            switch (l.Name)
            {
                case "smtp":
                    options.Listeners.Add(new SmtpListener(l.Name, new IPEndPoint(bind, settings.Port(l)), SmtpListenerRole.Mx, ImplicitTls: false));
                    break;
                case "submission":
                    options.Listeners.Add(new SmtpListener(l.Name, new IPEndPoint(bind, settings.Port(l)), SmtpListenerRole.Submission, ImplicitTls: false));
                    break;
                case "submissions" when certificate is not null:
                    options.Listeners.Add(new SmtpListener(l.Name, new IPEndPoint(bind, settings.Port(l)), SmtpListenerRole.Submission, ImplicitTls: true));
                    break;
            }
        }
        return options;
    }

    /// <param name="throttle">The login throttle shared with the other protocols of the process (a new one when null).</param>
    public static WebApplication Build(SmtpServerOptions options, StorageAccount account, Action<ILoggingBuilder>? logging = null, IMessageSpool? spool = null, AuthThrottle? throttle = null)
    {
        var directory = new CachingMailDirectory(StorageProvisioner.Directory(account), options.DirectoryCacheTtl);
        var usage = new TableMailboxUsage(account);
        spool ??= new StorageMessageSpool(account);
        throttle ??= new AuthThrottle(options.AuthMaxFailures, delayPerFailure: options.AuthFailureDelay);
        var limiter = new ConnectionLimiter(options.MaxConnections, options.MaxConnectionsPerAddress);
        var greetingPass = new GreetingPass(options.GreetingPassTtl, options.TrustedNetworks);
        var app = ProtocolHost.Build(options.Listeners, l => l.EndPoint, (app, listener) =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MailCloud.Smtp");
            return new SmtpConnectionHandler(options, listener, directory, usage, spool, throttle, limiter, greetingPass, logger, app.Lifetime.ApplicationStopping).OnConnectedAsync;
        }, logging);
        return app;
    }
}
