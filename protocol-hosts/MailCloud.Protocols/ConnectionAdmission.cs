using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace MailCloud.Protocols;

/// <summary>
/// What every front end does first with a new connection: who it is, a logging scope naming protocol, listener,
/// client and connection, and a slot under the connection limits (null when they are reached: the handler answers
/// with its protocol's "busy" reply and closes).
/// </summary>
public sealed class ConnectionAdmission : IDisposable
{
    private readonly IDisposable? _scope;

    public ConnectionAdmission(ConnectionContext context, ConnectionLimiter limiter, ILogger logger, string protocol, string listener)
    {
        Remote = (context.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        _scope = logger.BeginScope("{Protocol} {Listener} {Client} {ConnectionId}", protocol, listener, Remote, context.ConnectionId);
        Lease = limiter.TryAcquire(Remote);
    }

    public IPAddress Remote { get; }

    /// <summary>The connection's slot; null when the limits are reached.</summary>
    public IDisposable? Lease { get; }

    public bool Admitted => Lease is not null;

    public void Dispose()
    {
        Lease?.Dispose();
        _scope?.Dispose();
    }
}
