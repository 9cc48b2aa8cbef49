using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace MailCloud.Protocols;

/// <summary>A connection after its TLS handshake: new pipes over the SslStream, and what was negotiated.</summary>
public sealed record TlsConnection(SslStream Stream, PipeReader Input, PipeWriter Output, string Protocol, string CipherSuite);

/// <summary>TLS on a connection's pipes, for implicit TLS (465, 993, 995) and STARTTLS/STLS alike.</summary>
public static class TlsUpgrade
{
    /// <summary>Runs the server handshake (TLS 1.2+, 30 s at most); null when it fails.</summary>
    public static async Task<TlsConnection?> TryUpgradeAsync(PipeReader input, PipeWriter output, X509Certificate2 certificate, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(new DuplexPipeStream(input, output), leaveInnerStreamOpen: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = certificate,
                ClientCertificateRequired = false,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        var protocol = ssl.SslProtocol switch
        {
            SslProtocols.Tls13 => "TLSv1.3",
            SslProtocols.Tls12 => "TLSv1.2",
            var p => p.ToString(),
        };
        return new TlsConnection(ssl,
            PipeReader.Create(ssl, new StreamPipeReaderOptions(leaveOpen: true)),
            PipeWriter.Create(ssl, new StreamPipeWriterOptions(leaveOpen: true)),
            protocol, ssl.NegotiatedCipherSuite.ToString());
    }
}
