using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace MailCloud.Protocols;

/// <summary>The Kestrel host every front end runs in: one listener per endpoint, each with its own connection handler.</summary>
public static class ProtocolHost
{
    /// <summary>Console logging as the hosts use it, unless a caller configures its own (tests silence it).</summary>
    public static void ConfigureLogging(ILoggingBuilder builder, Action<ILoggingBuilder>? custom)
    {
        builder.ClearProviders();
        if (custom is null)
            builder.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        else
            custom(builder);
    }

    /// <param name="createHandler">Makes the connection handler of one listener once the app (logging, lifetime) exists.</param>
    public static WebApplication Build<TListener>(IReadOnlyList<TListener> listeners, Func<TListener, IPEndPoint> endPoint,
        Func<WebApplication, TListener, Func<ConnectionContext, Task>> createHandler, Action<ILoggingBuilder>? logging)
        where TListener : notnull
    {
        var builder = WebApplication.CreateSlimBuilder();
        ConfigureLogging(builder.Logging, logging);
        var handlers = new Dictionary<TListener, Func<ConnectionContext, Task>>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            foreach (var listener in listeners)
                k.Listen(endPoint(listener), lo => lo.Run(connection => handlers[listener](connection)));
        });
        var app = builder.Build();
        foreach (var listener in listeners)
            handlers[listener] = createHandler(app, listener);
        return app;
    }

    /// <summary>The TLS certificate of a host process (MAILCLOUD_TLS_CERT, mounted from Key Vault in Azure; re-read when it changes), or null.</summary>
    public static ServerCertificate? CertificateFromEnvironment() => ServerCertificate.FromEnvironment();
}
