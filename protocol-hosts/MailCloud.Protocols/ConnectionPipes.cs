using System.IO.Compression;
using System.IO.Pipelines;

namespace MailCloud.Protocols;

/// <summary>
/// A connection's current pipes. They change when TLS starts (implicit, STARTTLS, STLS) and when compression does
/// (IMAP COMPRESS); each layer (TLS stream, deflate streams with their native zlib state) is disposed, outermost
/// first, when the connection ends.
/// </summary>
public sealed class ConnectionPipes(PipeReader input, PipeWriter output) : IAsyncDisposable
{
    private readonly Stack<IAsyncDisposable> _layers = new();

    public PipeReader Input { get; private set; } = input;
    public PipeWriter Output { get; private set; } = output;

    /// <summary>Runs the server handshake on the current pipes; null (pipes unchanged) without a certificate or when it fails.</summary>
    public async Task<TlsConnection?> StartTlsAsync(ServerCertificate? certificate, CancellationToken cancellationToken)
    {
        if (certificate is null)
            return null;
        var tls = await TlsUpgrade.TryUpgradeAsync(Input, Output, certificate.Current, cancellationToken).ConfigureAwait(false);
        if (tls is null)
            return null;
        _layers.Push(tls.Stream);
        (Input, Output) = (tls.Input, tls.Output);
        return tls;
    }

    /// <summary>Raw deflate (RFC 1951, no zlib header) both ways from the next byte on, as RFC 4978 asks.</summary>
    public void StartDeflate()
    {
        var duplex = new DuplexPipeStream(Input, Output);
        var inflate = new DeflateStream(duplex, CompressionMode.Decompress, leaveOpen: true);
        var deflate = new DeflateStream(duplex, CompressionLevel.Fastest, leaveOpen: true);
        _layers.Push(inflate);
        _layers.Push(deflate);
        (Input, Output) = (PipeReader.Create(inflate), PipeWriter.Create(deflate));
    }

    public async ValueTask DisposeAsync()
    {
        while (_layers.TryPop(out var layer))
        {
            try
            {
                await layer.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
                // The peer is gone; a closing TLS alert or deflate trailer has nowhere to go.
            }
        }
    }
}
