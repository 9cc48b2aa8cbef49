using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace MailCloud.Smtp;

/// <summary>
/// The socket side of SMTP on Kestrel: frames lines and data from the connection's pipes, runs TLS, streams message
/// bodies to the spool, writes replies (flushed once per batch of input, which is what PIPELINING needs).
/// All protocol decisions are <see cref="SmtpSession"/>'s.
/// </summary>
public sealed class SmtpConnectionHandler(
    SmtpServerOptions options,
    SmtpListener listener,
    IMailDirectory directory,
    IMailboxUsage usage,
    IMessageSpool spool,
    AuthThrottle throttle,
    ConnectionLimiter limiter,
    GreetingPass greetingPass,
    ILogger logger,
    CancellationToken stopping,
    TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private enum Mode
    {
        Command,
        Data,
        Chunk,
        SkipChunk,
        AuthResponse,
        DiscardLine,
    }

    /// <summary>Per-connection I/O state.</summary>
    private sealed class Connection
    {
        public required ConnectionPipes Pipes;
        public required ConnectionContext Context;
        public required PipeReader Input;
        public required PipeWriter Output;
        public Mode Mode = Mode.Command;
        public MessageTransfer? Transfer;
        public long ChunkRemaining;
        public bool LastChunk;
        public readonly DataFramer Data = new();
        public bool Close;
        public bool StartTls;
        public TimeSpan Delay;
    }

    public async Task OnConnectedAsync(ConnectionContext context)
    {
        await using var pipes = new ConnectionPipes(context.Transport.Input, context.Transport.Output);
        var c = new Connection { Pipes = pipes, Context = context, Input = pipes.Input, Output = pipes.Output };
        using var admission = new ConnectionAdmission(context, limiter, logger, "smtp", listener.Name);
        var remote = admission.Remote;
        if (!admission.Admitted)
        {
            logger.LogWarning("connection refused: connection limit reached");
            await ConnectionAdmission.RefuseAsync(pipes, listener.ImplicitTls, options.Certificate, "421 4.7.0 Too many connections, try again later", stopping);
            return;
        }
        var session = new SmtpSession(options, listener, remote, directory, usage, throttle);
        try
        {
            if (listener.ImplicitTls)
            {
                if (!await UpgradeAsync(c, session))
                    return;
            }
            else if (listener.Role == SmtpListenerRole.Mx && options.MxGreetingDelay > TimeSpan.Zero && !greetingPass.SkipsPause(remote))
            {
                await Task.Delay(options.MxGreetingDelay, stopping);
                if (c.Input.TryRead(out var early))
                {
                    bool talked = !early.Buffer.IsEmpty;
                    c.Input.AdvanceTo(early.Buffer.Start);
                    if (talked)
                    {
                        logger.LogInformation("early talker refused");
                        await WriteAsync(c, new SmtpReply(554, "5.5.1", "Protocol error: you talked before my greeting"));
                        return;
                    }
                }
                greetingPass.Passed(remote); // waited like a real MTA: greeted at once next time
            }
            await WriteAsync(c, session.Greeting());
            await RunAsync(c, session);
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException or AuthenticationException or ObjectDisposedException)
        {
            logger.LogDebug("connection ended: {Reason}", e.GetType().Name);
        }
        finally
        {
            if (c.Transfer is not null)
                await c.Transfer.AbortAsync();
        }
    }

    private async Task<bool> UpgradeAsync(Connection c, SmtpSession session)
    {
        if (options.Certificate is null)
            return false;
        var tls = await c.Pipes.StartTlsAsync(options.Certificate, stopping);
        if (tls is null)
        {
            logger.LogInformation("TLS handshake failed");
            return false;
        }
        (c.Input, c.Output) = (c.Pipes.Input, c.Pipes.Output);
        session.OnTlsEstablished(new TlsInfo(tls.Protocol, tls.CipherSuite));
        logger.LogDebug("TLS established: {Protocol} {Cipher}", tls.Protocol, tls.CipherSuite);
        return true;
    }

    private static async ValueTask WriteAsync(Connection c, SmtpReply reply)
    {
        c.Output.Write(reply.ToBytes());
        await c.Output.FlushAsync();
    }

    private async Task RunAsync(Connection c, SmtpSession session)
    {
        // RFC 5321 4.5.3.2 times the wait for each command; bytes that never make a line do not restart it. Message
        // data earns time at a minimum rate (as Postfix's smtpd_min_data_rate), so a byte every few seconds does not
        // keep a DATA open for ever either.
        var command = new ReadDeadline(options.CommandTimeout);
        var data = new ReadDeadline(options.DataTimeout);
        while (true)
        {
            var modeBefore = c.Mode;
            bool waitingForCommand = c.Mode is Mode.Command or Mode.AuthResponse or Mode.DiscardLine;
            using var timeout = waitingForCommand ? CancellationTokenSource.CreateLinkedTokenSource(stopping) : new CancellationTokenSource();
            timeout.CancelAfter(waitingForCommand ? command.Remaining : data.Remaining);
            ReadResult result;
            try
            {
                result = await c.Input.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                var reply = stopping.IsCancellationRequested ? SmtpReply.ShuttingDown : SmtpReply.Timeout;
                logger.LogInformation("closing: {Reason}", stopping.IsCancellationRequested ? "shutdown" : "timeout");
                await WriteAsync(c, reply);
                return;
            }

            var consumed = await ProcessAsync(c, session, result.Buffer);
            var taken = result.Buffer.Slice(result.Buffer.Start, consumed).Length;
            if (!waitingForCommand)
                data.Extend(TimeSpan.FromSeconds(taken / (double)options.MinDataRate));
            if (c.Mode != modeBefore || taken > 0 && modeBefore is Mode.Command or Mode.AuthResponse)
            {
                command.Restart(); // a command was taken or the state moved on: the next one gets the full time
                if (c.Mode != modeBefore && c.Mode is not (Mode.Command or Mode.AuthResponse or Mode.DiscardLine))
                    data.Restart();
            }
            if (c.StartTls)
            {
                // RFC 3207: anything the client pipelined after STARTTLS is discarded, never executed.
                c.Input.AdvanceTo(result.Buffer.End);
                await c.Output.FlushAsync();
                c.StartTls = false;
                if (!await UpgradeAsync(c, session))
                    return;
                continue;
            }
            c.Input.AdvanceTo(consumed, result.Buffer.End);
            if (c.Mode is Mode.Data or Mode.Chunk || taken < result.Buffer.Length)
                QuickAck.Request(c.Context); // mid-message or mid-line: let a Nagle client send its last piece now
            if (c.Delay > TimeSpan.Zero)
            {
                // Throttled authentication failure: hold the reply back, so guessing gets slower with every miss.
                await Task.Delay(c.Delay);
                c.Delay = TimeSpan.Zero;
            }
            await c.Output.FlushAsync();
            if (c.Transfer is not null)
                await c.Transfer.FlushAsync(default);
            if (c.Close)
                return;
            if (result.IsCompleted)
                return;
        }
    }

    /// <summary>Handles everything complete in <paramref name="buffer"/>; returns how far it was consumed.</summary>
    private async Task<SequencePosition> ProcessAsync(Connection c, SmtpSession session, ReadOnlySequence<byte> buffer)
    {
        while (!c.Close && !c.StartTls)
        {
            switch (c.Mode)
            {
                case Mode.Data:
                    if (!c.Data.Consume(ref buffer, c.Transfer!))
                        return buffer.Start;
                    await FinishMessageAsync(c, session);
                    break;

                case Mode.Chunk or Mode.SkipChunk:
                {
                    var take = Math.Min(c.ChunkRemaining, buffer.Length);
                    if (c.Mode == Mode.Chunk)
                        c.Transfer!.Write(buffer.Slice(0, take));
                    buffer = buffer.Slice(take);
                    c.ChunkRemaining -= take;
                    if (c.ChunkRemaining > 0)
                        return buffer.Start;
                    if (c.Mode == Mode.SkipChunk)
                        c.Mode = Mode.Command;
                    else if (c.LastChunk)
                        await FinishMessageAsync(c, session);
                    else
                    {
                        c.Mode = Mode.Command;
                        Reply(c, session, new SmtpReply(250, "2.0.0", $"{c.Transfer!.Bytes} octets received"));
                    }
                    break;
                }

                case Mode.DiscardLine:
                {
                    var lf = buffer.PositionOf((byte)'\n');
                    if (lf is null)
                        return buffer.End;
                    buffer = buffer.Slice(buffer.GetPosition(1, lf.Value));
                    c.Mode = Mode.Command;
                    break;
                }

                default: // Command or AuthResponse
                {
                    if (!LineReader.TryReadLine(ref buffer, out var line))
                    {
                        if (buffer.Length > options.MaxCommandLength)
                        {
                            Reply(c, session, SmtpReply.LineTooLong);
                            c.Mode = Mode.DiscardLine;
                            continue;
                        }
                        return buffer.Start;
                    }
                    if (line.Length > options.MaxCommandLength)
                    {
                        Reply(c, session, SmtpReply.LineTooLong);
                        continue;
                    }
                    SmtpStep step;
                    if (c.Mode == Mode.AuthResponse)
                    {
                        c.Mode = Mode.Command;
                        step = await session.HandleAuthResponseAsync(Encoding.ASCII.GetString(line), stopping);
                    }
                    else if (!SmtpCommandParser.TryParse(line, out var command, out var error))
                    {
                        step = new SmtpStep(error);
                    }
                    else
                    {
                        step = await session.HandleAsync(command, stopping);
                    }
                    await ApplyAsync(c, session, step);
                    break;
                }
            }
        }
        return buffer.Start;
    }

    private async Task ApplyAsync(Connection c, SmtpSession session, SmtpStep step)
    {
        if (step.Reply is { } reply)
            Reply(c, session, reply);
        c.Delay = step.Delay;
        switch (step.Action)
        {
            case SmtpAction.Close:
                c.Close = true;
                break;
            case SmtpAction.StartTls:
                c.StartTls = true;
                break;
            case SmtpAction.AwaitAuthResponse:
                c.Mode = Mode.AuthResponse;
                break;
            case SmtpAction.SkipChunk:
                c.Mode = Mode.SkipChunk;
                c.ChunkRemaining = step.ChunkSize;
                break;
            case SmtpAction.ReceiveData:
                BeginMessage(c, session);
                c.Mode = Mode.Data;
                c.Data.Reset();
                break;
            case SmtpAction.ReceiveChunk:
                if (c.Transfer is null)
                    BeginMessage(c, session);
                c.Mode = Mode.Chunk;
                c.ChunkRemaining = step.ChunkSize;
                c.LastChunk = step.LastChunk;
                if (step.ChunkSize == 0 && step.LastChunk)
                {
                    c.ChunkRemaining = 0;
                    await FinishMessageAsync(c, session);
                }
                break;
        }
    }

    private void Reply(Connection c, SmtpSession session, SmtpReply reply)
    {
        reply = session.CountError(reply);
        c.Output.Write(reply.ToBytes());
        if (reply == SmtpReply.TooManyErrors)
        {
            logger.LogInformation("closing: too many errors");
            c.Close = true;
        }
    }

    private void BeginMessage(Connection c, SmtpSession session)
    {
        var now = _time.GetUtcNow();
        var id = MessageIds.New(now);
        c.Transfer = new MessageTransfer(spool, id, session.BuildEnvelope(now), session.BuildReceivedHeader(id, now), options.MaxMessageSize, CancellationToken.None);
    }

    private async Task FinishMessageAsync(Connection c, SmtpSession session)
    {
        var transfer = c.Transfer!;
        c.Transfer = null;
        c.Mode = Mode.Command;
        var (reply, item, error) = await transfer.FinishAsync();
        if (item is not null)
            MailMetrics.MessagesAccepted.Add(1, new KeyValuePair<string, object?>("listener", session.Listener));
        if (item is not null)
            logger.LogInformation("accepted {MessageId}: {Bytes} bytes from <{Sender}> for {Count} recipient(s)", transfer.MessageId, item.Size, session.Sender, session.Recipients.Count);
        else if (error is not null)
            logger.LogWarning("storage failure for {MessageId}, answered 451: {Error}", transfer.MessageId, error.Message);
        else
            logger.LogInformation("refused {MessageId}: {Reply}", transfer.MessageId, reply.Code);
        session.ResetTransaction();
        Reply(c, session, reply);
    }
}
