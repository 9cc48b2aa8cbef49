using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace MailCloud.Protocols;

/// <summary>
/// Asks Linux to acknowledge what arrived on a connection at once instead of delaying the ACK (TCP_QUICKACK).
/// A client with Nagle's algorithm on that writes a command in two pieces (python's imaplib sends an APPEND literal,
/// then its closing CRLF) holds the second piece until the first is acknowledged; the receiving kernel waits up to
/// 40 ms for a reply to piggyback the ACK on, and there is none until the command is whole. Measured: APPEND through
/// imaplib 52 ms per message, 8 ms when the client sends the pieces together. Called when a read left a command
/// incomplete; a no-op elsewhere (other systems, connections without a socket such as in-memory tests).
/// </summary>
public static class QuickAck
{
    private const int TcpQuickAck = 12; // linux/tcp.h

    public static void Request(ConnectionContext context)
    {
        if (!OperatingSystem.IsLinux() || context.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
            return;
        try
        {
            socket.SetRawSocketOption((int)SocketOptionLevel.Tcp, TcpQuickAck, BitConverter.GetBytes(1));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed meanwhile, or refused: the ACK is merely late.
        }
    }
}
