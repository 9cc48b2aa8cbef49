using System.IO.Pipelines;
using System.Net;
using System.Text;
using MailCloud.Imap;
using MailCloud.Pop3;
using MailCloud.Protocols;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailCloud.UnitTests.Sessions;

/// <summary>Reads what a session wrote to its output pipe, as text (responses are ASCII/UTF-8 lines and literals).</summary>
internal static class PipeText
{
    public static async Task<string> DrainAsync(Pipe pipe)
    {
        await pipe.Writer.FlushAsync();
        if (!pipe.Reader.TryRead(out var result))
            return string.Empty;
        var text = Encoding.UTF8.GetString(result.Buffer);
        pipe.Reader.AdvanceTo(result.Buffer.End);
        return text;
    }
}

/// <summary>One IMAP session over the in-memory store: a command line in, the session's whole response out.</summary>
internal sealed class ImapHarness : IDisposable
{
    private readonly Pipe _pipe = new();

    /// <param name="mailboxes">The mailbox store the session uses, when not <paramref name="store"/> itself (a cache in front of it).</param>
    public ImapHarness(InMemoryMailStore store, InMemoryDirectory directory, FolderWatcher watcher, bool tls = true, MailCloud.Data.IMailboxStore? mailboxes = null)
    {
        Session = new ImapSession(new ImapServerOptions { HostName = "imap.test" }, IPAddress.Loopback, directory, mailboxes ?? store, store, new AuthThrottle(), watcher, NullLogger.Instance);
        if (tls)
            Session.OnTlsEstablished();
    }

    public ImapSession Session { get; }

    public async Task<string> SendAsync(string line)
    {
        Assert.True(ImapParser.TryParse(Encoding.UTF8.GetBytes(line + "\r\n"), out var command, out _, out var error), error);
        await Session.HandleAsync(command!, _pipe.Writer, CancellationToken.None);
        return await PipeText.DrainAsync(_pipe);
    }

    public void Dispose() => Session.Dispose();
}

/// <summary>One POP3 session over the in-memory store.</summary>
internal sealed class Pop3Harness
{
    private readonly Pipe _pipe = new();

    public Pop3Harness(InMemoryMailStore store, InMemoryDirectory directory, bool tls = true)
    {
        Session = new Pop3Session(new Pop3ServerOptions { HostName = "pop.test" }, IPAddress.Loopback, directory, store, store, new AuthThrottle());
        if (tls)
            Session.OnTlsEstablished();
    }

    public Pop3Session Session { get; }

    public async Task<(Pop3Action Action, string Reply)> SendAsync(string line)
    {
        var bytes = new System.Buffers.ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(line));
        if (!Pop3CommandParser.TryParse(bytes, out var command, out var error))
            return (Session.Err(_pipe.Writer, error), await PipeText.DrainAsync(_pipe));
        var action = await Session.HandleAsync(command, _pipe.Writer, CancellationToken.None);
        return (action, await PipeText.DrainAsync(_pipe));
    }
}
