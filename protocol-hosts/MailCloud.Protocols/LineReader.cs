using System.Buffers;

namespace MailCloud.Protocols;

/// <summary>Line framing on bytes: CRLF-terminated lines (a bare LF is tolerated, as real clients send it).</summary>
public static class LineReader
{
    /// <summary>Takes one line (without its terminator) off the front of <paramref name="buffer"/>.</summary>
    public static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var position = buffer.PositionOf((byte)'\n');
        if (position is null)
        {
            line = default;
            return false;
        }
        line = buffer.Slice(0, position.Value);
        if (!line.IsEmpty && EndsWithCr(line))
            line = line.Slice(0, line.Length - 1);
        buffer = buffer.Slice(buffer.GetPosition(1, position.Value));
        return true;
    }

    private static bool EndsWithCr(in ReadOnlySequence<byte> line)
    {
        var last = line.Slice(line.Length - 1);
        return last.FirstSpan[0] == (byte)'\r';
    }
}
