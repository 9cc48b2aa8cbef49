using System.Buffers;
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

    /// <summary>
    /// Says "busy" to a connection over the limits in its own framing: on an implicit-TLS port only after the
    /// handshake (a TLS client cannot read plaintext), which is bounded by a few seconds so refusals stay cheap.
    /// </summary>
    public static async Task RefuseAsync(ConnectionPipes pipes, bool implicitTls, ServerCertificate? certificate, string reply, CancellationToken stopping)
    {
        if (implicitTls)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                if (await pipes.StartTlsAsync(certificate, timeout.Token).ConfigureAwait(false) is null)
                    return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        pipes.Output.Write(System.Text.Encoding.ASCII.GetBytes(reply + "\r\n"));
        await pipes.Output.FlushAsync(stopping).ConfigureAwait(false);
    }

    public void Dispose()
    {
        Lease?.Dispose();
        _scope?.Dispose();
    }
}
