using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace MailCloud.Pop3;

/// <summary>The socket side of POP3 on Kestrel: line framing, TLS (implicit or STLS), idle timeout, limits.</summary>
public sealed class Pop3ConnectionHandler(
    Pop3ServerOptions options,
    Pop3Listener listener,
    MailboxServices services,
    ILogger logger,
    CancellationToken stopping)
{
    /// <summary>SASL responses (base64) may be longer than commands.</summary>
    private const int MaxSaslLine = 16 * 1024;

    public async Task OnConnectedAsync(ConnectionContext context)
    {
        await using var pipes = new ConnectionPipes(context.Transport.Input, context.Transport.Output);
        var (input, output) = (pipes.Input, pipes.Output);
        using var admission = new ConnectionAdmission(context, services.Limiter, logger, "pop3", listener.Name);
        var remote = admission.Remote;
        if (!admission.Admitted)
        {
            await ConnectionAdmission.RefuseAsync(pipes, listener.ImplicitTls, options.Certificate, "-ERR [SYS/TEMP] Too many connections, try again later", stopping);
            return;
        }
        var session = new Pop3Session(options, remote, services.Directory, services.Store, services.Messages, services.Throttle);
        try
        {
            if (listener.ImplicitTls)
            {
                if (await pipes.StartTlsAsync(options.Certificate, stopping) is null)
                    return;
                (input, output) = (pipes.Input, pipes.Output);
                session.OnTlsEstablished();
            }
            session.Greeting(output);
            await output.FlushAsync();
            bool awaitingSasl = false;
            var login = new ReadDeadline(options.LoginTimeout);
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                // Before login the whole login must fit in LoginTimeout (dribbled bytes do not extend it); then RFC 1939's inactivity timer.
                idle.CancelAfter(session.State == Pop3State.Authorization ? login.Remaining : options.IdleTimeout);
                ReadResult result;
                try
                {
                    result = await input.ReadAsync(idle.Token);
                }
                catch (OperationCanceledException)
                {
                    Pop3Session.Write(output, stopping.IsCancellationRequested ? "-ERR [SYS/TEMP] Server shutting down" : "-ERR Idle timeout, closing");
                    await output.FlushAsync();
                    return;
                }
                var buffer = result.Buffer;
                var action = Pop3Action.None;
                while (action is Pop3Action.None or Pop3Action.AwaitSaslResponse && LineReader.TryReadLine(ref buffer, out var line))
                {
                    if (awaitingSasl)
                    {
                        awaitingSasl = false;
                        action = line.Length > MaxSaslLine ? session.Err(output, "Response too long") : await session.HandleSaslResponseAsync(Encoding.ASCII.GetString(line), output, stopping);
                    }
                    else if (!Pop3CommandParser.TryParse(line, out var command, out var error))
                        action = session.Err(output, error);
                    else
                        action = await session.HandleAsync(command, output, stopping);
                    awaitingSasl = action == Pop3Action.AwaitSaslResponse;
                    if (awaitingSasl)
                        action = Pop3Action.None;
                }
                if (action == Pop3Action.None && buffer.Length > MaxSaslLine)
                {
                    action = session.Err(output, "Line too long");
                    buffer = buffer.Slice(buffer.End);
                }
                if (action == Pop3Action.StartTls)
                {
                    // RFC 2595: what the client sent after STLS is not to be trusted; discard it.
                    input.AdvanceTo(result.Buffer.End);
                    await output.FlushAsync();
                    if (await pipes.StartTlsAsync(options.Certificate, stopping) is null)
                        return;
                    (input, output) = (pipes.Input, pipes.Output);
                    session.OnTlsEstablished();
                    continue;
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                await output.FlushAsync();
                if (action == Pop3Action.Close || result.IsCompleted)
                    return;
            }
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException or ObjectDisposedException)
        {
            logger.LogDebug("connection ended: {Reason}", e.GetType().Name);
        }
        finally
        {
            // A session that ends without QUIT deletes nothing, and frees the maildrop at once.
            if (session.Lock is not null)
                await session.Lock.DisposeAsync();
        }
    }
}
