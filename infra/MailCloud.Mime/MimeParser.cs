using System.Text;

namespace MailCloud.Mime;

public sealed record MimeParserOptions
{
    /// <summary>Multiparts nested deeper than this are kept as opaque leaves (no unbounded recursion on hostile mail).</summary>
    public int MaxDepth { get; init; } = 32;

    /// <summary>Lines longer than this are handled in chunks, so memory stays bounded whatever the input.</summary>
    public int MaxLineLength { get; init; } = 64 * 1024;

    /// <summary>
    /// Keep the top-level header block's raw bytes (<see cref="MimeEntity.RawHeader"/>) when it is no longer than
    /// this; 0 keeps nothing. The mailbox index stores it so IMAP answers header fetches and searches from the table.
    /// </summary>
    public int KeepRootHeaderUpTo { get; init; }
}

/// <summary>
/// Streaming MIME parser: reads the message once, line by line, keeping only headers and offsets (never bodies),
/// and builds a tree of <see cref="MimeEntity"/>. Malformed input never throws: missing or wrong boundaries, bare LF,
/// NUL bytes, unterminated multiparts and garbage before the headers all yield a best-effort structure.
/// </summary>
public sealed class MimeParser : IDisposable
{
    private readonly LineSource _src;
    private readonly MimeParserOptions _options;
    private readonly List<byte[]> _boundaries = [];

    private MimeParser(Stream stream, MimeParserOptions options)
    {
        _options = options;
        _src = new LineSource(stream, options.MaxLineLength);
    }

    public static MimeEntity Parse(Stream stream, MimeParserOptions? options = null)
    {
        options ??= new MimeParserOptions();
        var capture = options.KeepRootHeaderUpTo > 0 ? new PrefixCapture(stream, options.KeepRootHeaderUpTo) : null;
        using var parser = new MimeParser(capture ?? stream, options);
        var root = parser.ParseEntity(0, null);
        if (capture is not null && root.BodyStart <= capture.Captured)
            root.RawHeader = capture.Prefix(root.BodyStart);
        return root;
    }

    /// <summary>Passes a stream through, keeping a copy of its first bytes.</summary>
    private sealed class PrefixCapture(Stream inner, int limit) : Stream
    {
        private readonly MemoryStream _prefix = new();

        public long Captured => _prefix.Length;

        public byte[] Prefix(long length) => _prefix.GetBuffer().AsSpan(0, (int)length).ToArray();

        public override int Read(byte[] buffer, int offset, int count) => Keep(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

        public override int Read(Span<byte> buffer) => Keep(buffer[..inner.Read(buffer)]);

        private int Keep(ReadOnlySpan<byte> read)
        {
            if (_prefix.Length < limit)
                _prefix.Write(read[..(int)Math.Min(read.Length, limit - _prefix.Length)]);
            return read.Length;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Length => throw new NotSupportedException();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    public void Dispose() => _src.Dispose();

    public static MimeEntity Parse(byte[] message, MimeParserOptions? options = null) => Parse(new MemoryStream(message, writable: false), options);

    public static MimeEntity Parse(string message) => Parse(Encoding.UTF8.GetBytes(message));

    private MimeEntity ParseEntity(int depth, string? defaultType)
    {
        var e = new MimeEntity { HeaderStart = _src.Position };
        ParseHeaders(e);
        var contentType = e.GetHeader("Content-Type");
        if (contentType is not null)
        {
            var parsed = HeaderParameters.Parse(contentType.Value, "text/plain");
            e.ContentType = parsed.Value.Contains('/', StringComparison.Ordinal) ? parsed : new HeaderParameters("text/plain", [new("charset", "us-ascii")]);
        }
        else if (defaultType is not null)
        {
            e.ContentType = new HeaderParameters(defaultType, []);
        }
        ParseBody(e, depth);
        return e;
    }

    private void ParseHeaders(MimeEntity e)
    {
        string? name = null;
        long headerOffset = 0;
        var raw = new List<byte>();

        void Finish()
        {
            if (name is null)
                return;
            // Drop the final line break; keep inner folding.
            int len = raw.Count;
            while (len > 0 && raw[len - 1] is (byte)'\n' or (byte)'\r')
                len--;
            e.Headers.Add(new Header(name, raw.GetRange(0, len).ToArray(), headerOffset, raw.Count + name.Length + 1));
            name = null;
            raw.Clear();
        }

        while (true)
        {
            if (!_src.Next(out var line))
            {
                Finish();
                e.BodyStart = e.End = _src.Position;
                return;
            }
            if (IsBlank(line))
            {
                Finish();
                e.BodyStart = _src.Position;
                return;
            }
            if (MatchBoundary(line).Level >= 0)
            {
                Finish();
                _src.Unread();
                e.BodyStart = _src.LineOffset;
                return;
            }
            if (line[0] is (byte)' ' or (byte)'\t')
            {
                if (name is not null)
                {
                    raw.AddRange(line);
                    continue;
                }
            }
            else if (TryHeaderName(line, out var nameLength, out var valueStart))
            {
                Finish();
                name = Encoding.ASCII.GetString(line[..nameLength]);
                headerOffset = _src.LineOffset;
                raw.AddRange(line[valueStart..]);
                continue;
            }
            else if (e.Headers.Count == 0 && name is null && line.StartsWith("From "u8))
            {
                continue; // an mbox "From " separator line before the headers
            }
            // Not a header: the header section ended without its blank line; this line starts the body.
            Finish();
            _src.Unread();
            e.BodyStart = _src.LineOffset;
            return;
        }
    }

    private static bool TryHeaderName(ReadOnlySpan<byte> line, out int nameLength, out int valueStart)
    {
        nameLength = 0;
        valueStart = 0;
        int i = 0;
        while (i < line.Length && line[i] is > 32 and < 127 and not (byte)':')
            i++;
        nameLength = i;
        if (i == 0)
            return false;
        while (i < line.Length && line[i] is (byte)' ' or (byte)'\t')
            i++; // obsolete "Name : value"
        if (i >= line.Length || line[i] != (byte)':')
            return false;
        valueStart = i + 1;
        return true;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) =>
        line.Length == 0 || line.SequenceEqual("\r\n"u8) || line.SequenceEqual("\n"u8) || line.SequenceEqual("\r"u8);

    private static int TerminatorLength(ReadOnlySpan<byte> line) =>
        line.EndsWith("\r\n"u8) ? 2 : line.EndsWith("\n"u8) ? 1 : 0;

    /// <summary>Which open boundary this line is (index into the stack, -1 for none), and whether it closes.</summary>
    private (int Level, bool Close) MatchBoundary(ReadOnlySpan<byte> line)
    {
        if (_boundaries.Count == 0 || line.Length < 2 || line[0] != (byte)'-' || line[1] != (byte)'-')
            return (-1, false);
        for (int level = _boundaries.Count - 1; level >= 0; level--)
        {
            var b = _boundaries[level];
            if (!line[2..].StartsWith(b))
                continue;
            var rest = line[(2 + b.Length)..];
            bool close = rest.StartsWith("--"u8);
            if (close)
                rest = rest[2..];
            int i = 0;
            while (i < rest.Length && rest[i] is (byte)' ' or (byte)'\t')
                i++;
            rest = rest[i..];
            if (rest.Length == 0 || IsBlank(rest))
                return (level, close);
        }
        return (-1, false);
    }

    private void ParseBody(MimeEntity e, int depth)
    {
        long linesAtBody = _src.Lines;
        var boundary = e.MediaType == "multipart" ? e.ContentType["boundary"] : null;
        if (boundary is { Length: > 0 } && depth < _options.MaxDepth)
        {
            ParseMultipart(e, depth, Encoding.UTF8.GetBytes(boundary));
        }
        else if (e.MediaType == "message" && e.MediaSubtype is "rfc822" or "global" && e.TransferEncoding is not ("base64" or "quoted-printable") && depth < _options.MaxDepth)
        {
            e.Message = ParseEntity(depth + 1, null);
            e.End = e.Message.End;
        }
        else
        {
            ReadLeaf(e);
        }
        e.BodyLines = CountLines(e, linesAtBody);
    }

    // Line bookkeeping for the current entity's end: the line break before a boundary belongs to the boundary.
    private int _prevLineLength;
    private int _prevTerminator;
    private long _linesAtEnd;
    private bool _endsWithLf;

    private void ReadLeaf(MimeEntity e)
    {
        _prevLineLength = 0;
        _prevTerminator = 0;
        while (_src.Next(out var line))
        {
            if (MatchBoundary(line).Level >= 0)
            {
                _src.Unread();
                EndBeforeBoundary(e);
                return;
            }
            _prevLineLength = line.Length;
            _prevTerminator = TerminatorLength(line);
        }
        e.End = _src.Position;
        _linesAtEnd = _src.Lines;
        _endsWithLf = _prevTerminator > 0;
    }

    private void EndBeforeBoundary(MimeEntity e)
    {
        e.End = Math.Max(e.BodyStart, _src.LineOffset - _prevTerminator);
        _linesAtEnd = _src.Lines - (_prevTerminator > 0 ? 1 : 0);
        // After cutting the previous line's break, the body ends with a break only if that line was empty.
        _endsWithLf = _prevTerminator > 0 && _prevLineLength == _prevTerminator && e.End > e.BodyStart;
    }

    /// <summary>
    /// IMAP's body-fld-lines: the line breaks inside the body, as Dovecot counts them; a last line without one (the
    /// line before a boundary, whose break belongs to the boundary) is not counted.
    /// </summary>
    private long CountLines(MimeEntity e, long linesAtBody) =>
        e.End <= e.BodyStart && e.Message is null && e.Children.Count == 0 ? 0 : Math.Max(0, _linesAtEnd - linesAtBody);

    private void ParseMultipart(MimeEntity e, int depth, byte[] boundary)
    {
        _boundaries.Add(boundary);
        int own = _boundaries.Count - 1;
        string? childDefault = e.MediaSubtype == "digest" ? "message/rfc822" : null;
        bool closed = false;
        _prevLineLength = 0;
        _prevTerminator = 0;
        try
        {
            while (true)
            {
                if (!_src.Next(out var line))
                {
                    e.End = _src.Position; // unterminated multipart: it runs to the end
                    _linesAtEnd = _src.Lines;
                    _endsWithLf = _prevTerminator > 0;
                    return;
                }
                var (level, close) = MatchBoundary(line);
                if (level < 0)
                {
                    _prevLineLength = line.Length;
                    _prevTerminator = TerminatorLength(line);
                    continue; // preamble or epilogue
                }
                if (level < own)
                {
                    _src.Unread(); // an enclosing multipart's boundary ends this one too
                    EndBeforeBoundary(e);
                    return;
                }
                if (closed)
                {
                    // A repeated delimiter after the close: epilogue text in practice.
                    _prevLineLength = line.Length;
                    _prevTerminator = TerminatorLength(line);
                    continue;
                }
                if (close)
                {
                    closed = true;
                    _prevLineLength = line.Length;
                    _prevTerminator = TerminatorLength(line);
                    continue;
                }
                var child = ParseEntity(depth + 1, childDefault);
                e.Children.Add(child);
                _prevLineLength = 0;
                _prevTerminator = 0;
            }
        }
        finally
        {
            _boundaries.RemoveAt(own);
        }
    }

    /// <summary>Reads a stream as lines with absolute offsets, holding at most one line (or chunk) at a time.</summary>
    private sealed class LineSource(Stream stream, int maxLine) : IDisposable
    {
        // Pooled: parsing many small messages should not allocate a fresh 64 KiB each time.
        private byte[] _buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Min(64 * 1024, maxLine + 1));

        public void Dispose()
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
        private int _start;
        private int _end;
        private long _bufferOffset;
        private bool _eof;
        private int _lineStart;
        private bool _lastCountedLf;

        /// <summary>Absolute offset just after the last line handed out.</summary>
        public long Position => _bufferOffset + _start;

        /// <summary>Absolute offset of the last line handed out.</summary>
        public long LineOffset => _bufferOffset + _lineStart;

        /// <summary>Line breaks consumed so far.</summary>
        public long Lines { get; private set; }

        public bool Next(out ReadOnlySpan<byte> line)
        {
            while (true)
            {
                int idx = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
                if (idx >= 0)
                    return Take(idx + 1, out line);
                if (_eof)
                {
                    if (_start < _end)
                        return Take(_end - _start, out line);
                    line = default;
                    return false;
                }
                if (_end - _start >= maxLine)
                    return Take(maxLine, out line);
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _bufferOffset += _start;
                    _end -= _start;
                    _lineStart -= _start;
                    _start = 0;
                }
                if (_end == _buffer.Length)
                {
                    var bigger = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, maxLine + 1));
                    Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
                    System.Buffers.ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = bigger;
                }
                int n = stream.Read(_buffer, _end, _buffer.Length - _end);
                if (n == 0)
                    _eof = true;
                else
                    _end += n;
            }
        }

        private bool Take(int length, out ReadOnlySpan<byte> line)
        {
            _lineStart = _start;
            _start += length;
            line = _buffer.AsSpan(_lineStart, length);
            _lastCountedLf = line[^1] == (byte)'\n';
            if (_lastCountedLf)
                Lines++;
            return true;
        }

        /// <summary>Gives the last line back; the next <see cref="Next"/> returns it again.</summary>
        public void Unread()
        {
            _start = _lineStart;
            if (_lastCountedLf)
                Lines--;
            _lastCountedLf = false;
        }
    }
}
