using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;

namespace MailCloud.Smtp;

/// <summary>
/// Streams one message from the connection into the spool while it arrives: the connection writes into a pipe
/// (bounded, so a slow store slows the client down instead of filling memory), the spool reads it as a stream.
/// </summary>
internal sealed class MessageTransfer : IDataSink
{
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false));
    private readonly long _maxSize;
    private readonly Task<InboundWorkItem> _store;
    private bool _writerCompleted;

    public MessageTransfer(IMessageSpool spool, string messageId, Envelope envelope, string receivedHeader, long maxSize, CancellationToken cancellationToken)
    {
        MessageId = messageId;
        _maxSize = maxSize;
        _pipe.Writer.Write(Encoding.UTF8.GetBytes(receivedHeader));
        _store = Task.Run(async () =>
        {
            try
            {
                await using var stream = _pipe.Reader.AsStream(leaveOpen: true);
                return await spool.StoreAsync(messageId, envelope, stream, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                // Also on failure: a completed reader makes the writer's flushes return instead of blocking forever.
                await _pipe.Reader.CompleteAsync().ConfigureAwait(false);
            }
        }, CancellationToken.None);
    }

    public string MessageId { get; }
    public long Bytes { get; private set; }
    public bool TooBig { get; private set; }

    /// <summary>Bytes of the body, after dot-unstuffing. Past the size limit they are counted and dropped.</summary>
    public void Write(in ReadOnlySequence<byte> data)
    {
        Bytes += data.Length;
        if (_writerCompleted)
            return;
        if (Bytes > _maxSize)
        {
            TooBig = true;
            _writerCompleted = true;
            _pipe.Writer.Complete(new InvalidDataException("message exceeds the size limit"));
            return;
        }
        foreach (var segment in data)
            _pipe.Writer.Write(segment.Span);
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_writerCompleted)
            return;
        var result = await _pipe.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCompleted)
        {
            // The store gave up (storage failure); keep reading the client's data but stop writing it.
            _writerCompleted = true;
            await _pipe.Writer.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Ends the message and waits until it is durable; returns the reply for the client.</summary>
    public async Task<(SmtpReply Reply, InboundWorkItem? Item, Exception? Error)> FinishAsync()
    {
        if (!_writerCompleted)
        {
            _writerCompleted = true;
            await _pipe.Writer.CompleteAsync().ConfigureAwait(false);
        }
        try
        {
            var item = await _store.ConfigureAwait(false);
            if (TooBig)
                return (TooBigReply(), null, null); // cannot happen (the upload sees the error) but never accept an oversized message
            return (new SmtpReply(250, "2.0.0", $"Ok: queued as {MessageId}"), item, null);
        }
        catch (Exception e)
        {
            return TooBig ? (TooBigReply(), null, null) : (SmtpReply.StorageFailure, null, e);
        }
    }

    private SmtpReply TooBigReply() => new(552, "5.3.4", $"Message size exceeds fixed maximum message size ({_maxSize})");

    /// <summary>The connection went away mid-message: make sure nothing is committed.</summary>
    public async Task AbortAsync()
    {
        if (!_writerCompleted)
        {
            _writerCompleted = true;
            await _pipe.Writer.CompleteAsync(new OperationCanceledException("client disconnected during DATA")).ConfigureAwait(false);
        }
        try
        {
            await _store.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Expected: the upload was aborted on purpose.
        }
    }
}
