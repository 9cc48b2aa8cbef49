using System.Net;
using System.Net.Sockets;
using MailCloud.Protocols;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace MailCloud.FunctionalTests.Imap;

/// <summary>
/// The front ends ask Linux for an immediate ACK when a read leaves a command incomplete (<see cref="QuickAck"/>):
/// python's imaplib writes an APPEND literal and its CRLF apart with Nagle on, and waited 40 ms for the delayed ACK
/// every message (tests/bench/imap-side-by-side.sh measures the rate; tests check behaviour only). Real sockets on
/// loopback: after a few requests and replies the kernel delays ACKs (TCP_QUICKACK reads 0); the helper turns that off.
/// </summary>
public sealed class QuickAckTests
{
    private const int TcpQuickAck = 12;

    private sealed class SocketFeature(Socket socket) : IConnectionSocketFeature
    {
        public Socket Socket => socket;
    }

    private static int QuickAckState(Socket s)
    {
        var value = new byte[4];
        s.GetRawSocketOption((int)SocketOptionLevel.Tcp, TcpQuickAck, value);
        return BitConverter.ToInt32(value);
    }

    [Fact]
    public async Task A_connection_that_delays_its_acks_acknowledges_at_once_when_asked()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var server = await listener.AcceptSocketAsync();
        var buffer = new byte[16];
        for (int i = 0; i < 5; i++)
        {
            await client.Client.SendAsync("ping"u8.ToArray());
            await server.ReceiveAsync(buffer);
            await server.SendAsync("pong"u8.ToArray());
            await client.Client.ReceiveAsync(buffer);
        }
        Assert.Equal(0, QuickAckState(server)); // an interactive exchange: the kernel now waits to piggyback ACKs

        var context = new DefaultConnectionContext();
        context.Features.Set<IConnectionSocketFeature>(new SocketFeature(server));
        QuickAck.Request(context);
        Assert.Equal(1, QuickAckState(server));
    }

    [Fact]
    public void A_connection_without_a_socket_or_a_closed_one_is_left_alone()
    {
        QuickAck.Request(new DefaultConnectionContext()); // in-memory transports (tests) have no socket
        var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Dispose();
        var context = new DefaultConnectionContext();
        context.Features.Set<IConnectionSocketFeature>(new SocketFeature(closed));
        QuickAck.Request(context);
        Assert.Throws<ObjectDisposedException>(() => closed.Available); // still closed, and nothing was thrown above
    }
}
