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
            Content = new PrefixedStream(buffer.AsMemory(0, buffered), _rest);
        }
    }

    /// <summary>What to hand to the upload.</summary>
    public Stream Content { get; }

    /// <summary>The whole message when it fitted the buffer (valid until disposed), else empty with false.</summary>
    public bool TryGetWhole(out ReadOnlyMemory<byte> whole)
    {
        whole = _rest is null ? _buffer.AsMemory(0, _buffered) : default;
        return _rest is null;
    }

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
                    return new BufferedUpload(buffer, total, new PrefixedStream(probe.AsMemory(0, 1), content));
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
}
