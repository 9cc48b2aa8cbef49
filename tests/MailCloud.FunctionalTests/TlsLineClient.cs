using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace MailCloud.FunctionalTests;

/// <summary>A raw line-oriented client over implicit TLS (the test servers' self-signed certificates are accepted).</summary>
public sealed class TlsLineClient : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly SslStream _ssl;

    private TlsLineClient(TcpClient tcp, SslStream ssl)
    {
        _tcp = tcp;
        _ssl = ssl;
        Reader = new StreamReader(ssl, Encoding.ASCII);
        Writer = new StreamWriter(ssl, Encoding.ASCII) { AutoFlush = true, NewLine = "\r\n" };
    }

    public StreamReader Reader { get; }
    public StreamWriter Writer { get; }

    public static async Task<TlsLineClient> ConnectAsync(int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var ssl = new SslStream(tcp.GetStream(), false, (_, cert, _, _) => cert is not null); // the test's self-signed certificate
        await ssl.AuthenticateAsClientAsync("localhost");
        return new TlsLineClient(tcp, ssl);
    }

    /// <summary>Sends a tagged IMAP command and reads to its tagged reply, which must be OK.</summary>
    public async Task ImapCommandAsync(string command)
    {
        var tag = command[..command.IndexOf(' ', StringComparison.Ordinal)];
        await Writer.WriteAsync(command + "\r\n");
        while (await Reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith(tag + " ", StringComparison.Ordinal))
            {
                Assert.StartsWith(tag + " OK", line, StringComparison.Ordinal);
                return;
            }
        }
        throw new IOException("connection closed");
    }

    public void Dispose()
    {
        _ssl.Dispose();
        _tcp.Dispose();
    }
}
