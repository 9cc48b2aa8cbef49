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

namespace MailCloud.Imap;

/// <summary>
/// The socket side of IMAP on Kestrel: command framing with literals (continuation requests for synchronizing
/// ones), TLS (implicit or STARTTLS), SASL exchanges, IDLE (waiting for DONE and for folder changes at once),
/// timeouts and limits.
/// </summary>
public sealed class ImapConnectionHandler(
    ImapServerOptions options,
    ImapListener listener,
    MailboxServices services,
    FolderWatcher watcher,
    ILogger logger,
    CancellationToken stopping)
{
    public async Task OnConnectedAsync(ConnectionContext context)
    {
        await using var pipes = new ConnectionPipes(context.Transport.Input, context.Transport.Output);
        var (input, output) = (pipes.Input, pipes.Output);
        using var admission = new ConnectionAdmission(context, services.Limiter, logger, "imap", listener.Name);
        var remote = admission.Remote;
        if (!admission.Admitted)
        {
            await ConnectionAdmission.RefuseAsync(pipes, listener.ImplicitTls, options.Certificate, "* BYE [UNAVAILABLE] Too many connections, try again later", stopping);
            return;
        }
        using var session = new ImapSession(options, remote, services.Directory, services.Store, services.Messages, services.Throttle, watcher, logger, services.Training);
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
            int acknowledged = 0;
            bool awaitingSasl = false;
            var login = new ReadDeadline(options.LoginTimeout);
            while (true)
            {
                var result = await ReadAsync(session, input, output, login);
                if (result is null)
                    return;
                var buffer = result.Value.Buffer;
                var action = ImapAction.None;
                while (action == ImapAction.None)
                {
                    if (awaitingSasl)
                    {
                        if (!LineReader.TryReadLine(ref buffer, out var line))
                            break;
                        awaitingSasl = false;
                        action = line.Length > options.MaxLineLength ? session.Bad(output, "*", "Response too long")
                            : await session.HandleSaslResponseAsync(Encoding.ASCII.GetString(line), output, stopping);
                    }
                    else
                    {
                        var frame = ImapFramer.Frame(buffer, acknowledged, session.MaxLiteral, options.MaxLineLength);
                        if (frame.Status == FrameStatus.NeedMore)
                        {
                            if (buffer.Length > 0)
                                QuickAck.Request(context); // part of a command is here: let a Nagle client send the rest now
                            break;
                        }
                        if (frame.Status == FrameStatus.NeedContinuation)
                        {
                            ImapSession.Write(output, "+ Ready for literal data");
                            acknowledged++;
                            break;
                        }
                        if (frame.Status == FrameStatus.LineTooLong || frame.Status == FrameStatus.LiteralTooLarge && frame.NonSynchronizing)
                        {
                            // The command's end cannot be found (or its data must not be read): nothing safe to do but close.
                            ImapSession.Write(output, frame.Status == FrameStatus.LineTooLong ? "* BYE Line too long" : "* BYE [TOOBIG] Literal too large");
                            action = ImapAction.Close;
                            break;
                        }
                        var command = buffer.Slice(0, frame.Length);
                        buffer = buffer.Slice(frame.Length);
                        acknowledged = 0;
                        if (frame.Status == FrameStatus.LiteralTooLarge)
                        {
                            // A synchronizing literal we refuse: the client sends nothing more for this command.
                            _ = ImapParser.TryParse(command, out _, out var tag, out _); // only the tag is wanted
                            ImapSession.Write(output, $"{tag} NO [TOOBIG] Literal too large");
                            continue;
                        }
                        if (!ImapParser.TryParse(command, out var parsed, out var commandTag, out var error))
                            action = session.Bad(output, commandTag, error);
                        else
                            action = await session.HandleAsync(parsed!, output, stopping);
                    }
                    if (action == ImapAction.AwaitSaslResponse)
                    {
                        awaitingSasl = true;
                        action = ImapAction.None;
                    }
                    if (action == ImapAction.Idle)
                    {
                        // Not marked examined: a DONE that came in the same packet is read again at once.
                        input.AdvanceTo(buffer.Start);
                        await output.FlushAsync();
                        if (!await IdleAsync(session, input, output))
                            return;
                        action = ImapAction.None;
                        result = null;
                        break;
                    }
                }
                if (result is null)
                    continue; // IDLE consumed the input itself
                if (action == ImapAction.Compress)
                {
                    // RFC 4978: deflate (raw, no zlib header) both ways from the next byte on, inside TLS when TLS is on.
                    input.AdvanceTo(buffer.Start, buffer.End);
                    await output.FlushAsync();
                    pipes.StartDeflate();
                    (input, output) = (pipes.Input, pipes.Output);
                    acknowledged = 0;
                    continue;
                }
                if (action == ImapAction.StartTls)
                {
                    // RFC 3501 6.2.1: anything the client pipelined after STARTTLS is discarded.
                    input.AdvanceTo(result.Value.Buffer.End);
                    await output.FlushAsync();
                    if (await pipes.StartTlsAsync(options.Certificate, stopping) is null)
                        return;
                    (input, output) = (pipes.Input, pipes.Output);
                    session.OnTlsEstablished();
                    acknowledged = 0;
                    continue;
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                await output.FlushAsync();
                if (action == ImapAction.Close || result.Value.IsCompleted)
                    return;
            }
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException or ObjectDisposedException)
        {
            logger.LogDebug("connection ended: {Reason}", e.GetType().Name);
        }
    }

    /// <summary>Reads with the session's inactivity limit; null (after a BYE) when it passes or the server stops.</summary>
    private async Task<ReadResult?> ReadAsync(ImapSession session, PipeReader input, PipeWriter output, ReadDeadline login)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        // Before login the whole login must fit in LoginTimeout (bytes dribbled in do not extend it); after it, the
        // autologout timer of RFC 9051 counts inactivity.
        idle.CancelAfter(session.State == ImapState.NotAuthenticated ? login.Remaining : options.IdleTimeout);
        try
        {
            return await input.ReadAsync(idle.Token);
        }
        catch (OperationCanceledException)
        {
            ImapSession.Write(output, stopping.IsCancellationRequested ? "* BYE Server shutting down" : "* BYE Idle timeout, closing");
            await output.FlushAsync(CancellationToken.None);
            return null;
        }
    }

    /// <summary>
    /// IDLE (RFC 2177): waits for the client's DONE while reporting folder changes as they are announced or polled.
    /// False when the connection is to close.
    /// </summary>
    private async Task<bool> IdleAsync(ImapSession session, PipeReader input, PipeWriter output)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(options.IdleTimeout);
        var read = input.ReadAsync(timeout.Token).AsTask();
        try
        {
            while (true)
            {
                var watch = session.Watch;
                var changed = watch?.Changed ?? Task.Delay(Timeout.Infinite, timeout.Token);
                await session.IdleUpdateAsync(output, stopping); // no storage request unless the folder changed
                await output.FlushAsync(stopping);
                var done = await Task.WhenAny(read, changed);
                if (done != read)
                    continue;
                var result = await read;
                var buffer = result.Buffer;
                if (LineReader.TryReadLine(ref buffer, out var line))
                {
                    var text = Encoding.ASCII.GetString(line).Trim();
                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (!text.Equals("DONE", StringComparison.OrdinalIgnoreCase))
                    {
                        session.Bad(output, "*", "Expected DONE");
                    }
                    await session.EndIdleAsync(output, stopping);
                    await output.FlushAsync(stopping);
                    return true;
                }
                if (result.IsCompleted || buffer.Length > options.MaxLineLength)
                    return false;
                input.AdvanceTo(buffer.Start, buffer.End);
                read = input.ReadAsync(timeout.Token).AsTask();
            }
        }
        catch (OperationCanceledException)
        {
            ImapSession.Write(output, stopping.IsCancellationRequested ? "* BYE Server shutting down" : "* BYE IDLE timeout, closing");
            await output.FlushAsync(CancellationToken.None);
            return false;
        }
    }
}
