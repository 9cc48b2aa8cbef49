using System.Buffers;

namespace MailCloud.Data;

/// <summary>
/// A forward-only message stream made ready for upload. The SDK can only send one Put Blob when it knows the length,
/// and from a stream of unknown length it always stages blocks (3 requests for a 4 KiB message). So the first
/// <c>threshold</c> bytes are read into a pooled buffer: a message that ends within it goes up as one seekable
/// Put Blob; a longer one goes up as blocks from the buffered start followed by the rest of the stream.
/// </summary>
internal sealed class BufferedUpload : IDisposable
{
    private readonly byte[] _buffer;
    private readonly int _buffered;
    private readonly CountingReadStream? _rest;

    private BufferedUpload(byte[] buffer, int buffered, Stream content)
    {
        _buffer = buffer;
        _buffered = buffered;
        if (content is MemoryStream)
        {
            Content = content;
        }
        else
        {
            _rest = new CountingReadStream(content);
            Content = new PrefixedStream(buffer, buffered, _rest);
        }
    }

    /// <summary>What to hand to the upload.</summary>
    public Stream Content { get; }

    /// <summary>The message size, once <see cref="Content"/> has been read to its end.</summary>
    public long Size => _buffered + (_rest?.BytesRead ?? 0);

    public static async Task<BufferedUpload> PrepareAsync(Stream content, int threshold, CancellationToken cancellationToken)
    {
        // Exactly the threshold (a pool bucket size by default): one byte more would rent twice the memory.
        var buffer = ArrayPool<byte>.Shared.Rent(threshold);
        int total = 0, n;
        try
        {
            while (total < threshold && (n = await content.ReadAsync(buffer.AsMemory(total, threshold - total), cancellationToken).ConfigureAwait(false)) > 0)
                total += n;
            if (total == threshold)
            {
                // Full: one byte more tells whether the message goes on.
                var probe = new byte[1];
                if (await content.ReadAsync(probe, cancellationToken).ConfigureAwait(false) == 1)
                    return new BufferedUpload(buffer, total, new PrefixedStream(probe, 1, content));
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        return new BufferedUpload(buffer, total, new MemoryStream(buffer, 0, total, writable: false));
    }

    public void Dispose()
    {
        Content.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
    }

    /// <summary>The buffered start, then the rest of the original stream.</summary>
    private sealed class PrefixedStream(byte[] prefix, int prefixLength, Stream rest) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position < prefixLength)
                return Take(buffer);
            return rest.Read(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position < prefixLength)
                return Take(buffer.Span);
            return await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Take(Span<byte> buffer)
        {
            int n = Math.Min(buffer.Length, prefixLength - _position);
            prefix.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
