using System.Buffers;

namespace MailCloud.Imap;

public enum FrameStatus
{
    /// <summary>A whole command (its lines and literals) is in the buffer.</summary>
    Complete,
    NeedMore,

    /// <summary>The client waits for "+" before it sends a synchronizing literal.</summary>
    NeedContinuation,
    LineTooLong,
    LiteralTooLarge,
}

/// <summary>What <see cref="ImapFramer.Frame"/> found, and (for a literal that is too large) whether the client will send it anyway.</summary>
public readonly record struct Frame(FrameStatus Status, long Length = 0, bool NonSynchronizing = false);

/// <summary>
/// Finds where one IMAP command ends in received bytes: a command is lines joined by literals ({n} or {n+}, RFC 7888),
/// so literal bytes are skipped by count, never scanned. Knows nothing of sockets.
/// </summary>
public static class ImapFramer
{
    /// <param name="acknowledged">Synchronizing literals of this command the server has already answered "+" to.</param>
    public static Frame Frame(ReadOnlySequence<byte> buffer, int acknowledged, long maxLiteral, int maxLine)
    {
        var reader = new SequenceReader<byte>(buffer);
        int syncLiterals = 0;
        while (true)
        {
            var lineStart = reader.Consumed;
            if (!reader.TryAdvanceTo((byte)'\n', advancePastDelimiter: true))
                return new Frame(buffer.Length - lineStart > maxLine ? FrameStatus.LineTooLong : FrameStatus.NeedMore);
            var lineLength = reader.Consumed - lineStart;
            if (lineLength > maxLine)
                return new Frame(FrameStatus.LineTooLong);
            var line = buffer.Slice(lineStart, lineLength);
            if (!TryLiteral(line, out var size, out var nonSync))
                return new Frame(FrameStatus.Complete, reader.Consumed);
            if (size > maxLiteral)
                return new Frame(FrameStatus.LiteralTooLarge, reader.Consumed, nonSync);
            if (reader.Remaining < size)
            {
                if (!nonSync && syncLiterals >= acknowledged)
                    return new Frame(FrameStatus.NeedContinuation);
                return new Frame(FrameStatus.NeedMore);
            }
            if (!nonSync)
                syncLiterals++;
            reader.Advance(size);
        }
    }

    /// <summary>Does the line (with its CRLF) end in {n} or {n+} (also ~{n} for literal8)?</summary>
    internal static bool TryLiteral(ReadOnlySequence<byte> line, out long size, out bool nonSync)
    {
        size = 0;
        nonSync = false;
        Span<byte> tail = stackalloc byte[24];
        var take = (int)Math.Min(line.Length, tail.Length);
        line.Slice(line.Length - take).CopyTo(tail);
        var t = tail[..take];
        if (t.Length > 0 && t[^1] == '\n')
            t = t[..^1];
        if (t.Length > 0 && t[^1] == '\r')
            t = t[..^1];
        if (t.Length < 3 || t[^1] != '}')
            return false;
        t = t[..^1];
        if (t[^1] == (byte)'+')
        {
            nonSync = true;
            t = t[..^1];
        }
        int open = t.LastIndexOf((byte)'{');
        if (open < 0 || open == t.Length - 1)
            return false;
        var digits = t[(open + 1)..];
        if (digits.Length > 12)
            return false;
        foreach (var d in digits)
        {
            if (d is < (byte)'0' or > (byte)'9')
                return false;
            size = size * 10 + (d - '0');
        }
        return true;
    }
}
