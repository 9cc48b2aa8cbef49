using System.Buffers;

namespace MailCloud.Smtp;

/// <summary>Where <see cref="DataFramer"/> puts the message bytes it has unstuffed.</summary>
public interface IDataSink
{
    void Write(in ReadOnlySequence<byte> data);
}

/// <summary>
/// DATA framing (RFC 5321 4.5.2): dot-unstuffing and the end marker, on received bytes in whatever pieces they
/// arrive. Only CRLF "." CRLF ends the message, and a line starts only after CRLF, so bare-LF tricks cannot
/// smuggle a second message. Knows nothing of sockets; one instance per connection, reset per message.
/// </summary>
public sealed class DataFramer
{
    private bool _atLineStart = true;
    private bool _lastWasCr;

    public void Reset()
    {
        _atLineStart = true;
        _lastWasCr = false;
    }

    /// <summary>
    /// Passes the body bytes in <paramref name="buffer"/> to <paramref name="sink"/> and advances past them; returns
    /// true when the end marker was consumed (the rest of the buffer is the next command). A possible end marker cut
    /// by the buffer's end is left unconsumed until more bytes arrive.
    /// </summary>
    public bool Consume(ref ReadOnlySequence<byte> buffer, IDataSink sink)
    {
        Span<byte> head = stackalloc byte[3];
        while (!buffer.IsEmpty)
        {
            if (_atLineStart && buffer.FirstSpan[0] == (byte)'.')
            {
                if (buffer.Length < 3)
                    return false; // need to see whether this is the end marker
                buffer.Slice(0, 3).CopyTo(head);
                if (head[1] == (byte)'\r' && head[2] == (byte)'\n')
                {
                    buffer = buffer.Slice(3);
                    return true;
                }
                buffer = buffer.Slice(1); // a stuffed dot
                _atLineStart = false;
                _lastWasCr = false;
                continue;
            }
            var lf = buffer.PositionOf((byte)'\n');
            if (lf is null)
            {
                sink.Write(buffer);
                _lastWasCr = EndsWith(buffer, (byte)'\r');
                _atLineStart = false;
                buffer = buffer.Slice(buffer.End);
                return false;
            }
            var through = buffer.GetPosition(1, lf.Value);
            var line = buffer.Slice(0, through);
            sink.Write(line);
            _atLineStart = line.Length >= 2 ? EndsWithCrLf(line) : _lastWasCr;
            _lastWasCr = false;
            buffer = buffer.Slice(through);
        }
        return false;
    }

    private static bool EndsWith(in ReadOnlySequence<byte> s, byte b) => !s.IsEmpty && s.Slice(s.Length - 1).FirstSpan[0] == b;

    private static bool EndsWithCrLf(in ReadOnlySequence<byte> s)
    {
        Span<byte> tail = stackalloc byte[2];
        s.Slice(s.Length - 2).CopyTo(tail);
        return tail[0] == (byte)'\r' && tail[1] == (byte)'\n';
    }
}
