using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using MailCloud.Storage;

namespace MailCloud.Pop3;

public enum Pop3Action
{
    None,
    Close,
    StartTls,
    AwaitSaslResponse,
}

/// <summary>
/// One POP3 session over a user's INBOX: authorization (USER/PASS or SASL, only after TLS), the transaction state
/// with deletions only marked, and the UPDATE state at QUIT that expunges them. Writes replies to a pipe; knows
/// nothing of sockets.
/// </summary>
public sealed class Pop3Session(
    Pop3ServerOptions options,
    IPAddress client,
    IMailDirectory directory,
    IMailboxStore store,
    IMessageContent messages,
    AuthThrottle throttle)
{
    private const string Folder = "INBOX";
    private string? _userName;
    private SaslServer? _sasl;
    private List<MailboxMessage> _messages = [];
    private readonly HashSet<int> _deleted = [];
    private long _uidValidity;

    public Pop3State State { get; private set; } = Pop3State.Authorization;
    public bool IsTls { get; private set; }
    public MailAddress? User { get; private set; }
    public IAsyncDisposable? Lock { get; private set; }
    public int Errors { get; private set; }

    private bool LoginAllowed => IsTls || options.AllowPlainWithoutTls;

    public static void Write(PipeWriter output, string line) => output.Write(Encoding.UTF8.GetBytes(line + "\r\n"));

    public void Greeting(PipeWriter output) => Write(output, $"+OK {options.HostName} MailCloud POP3 ready");

    public void OnTlsEstablished()
    {
        IsTls = true;
        _userName = null;
    }

    /// <summary>Answers -ERR and counts it; too many and the session ends.</summary>
    public Pop3Action Err(PipeWriter output, string text)
    {
        Errors++;
        Write(output, "-ERR " + text);
        return Errors >= options.MaxErrors ? Close(output, "-ERR too many errors") : Pop3Action.None;
    }

    private static Pop3Action Close(PipeWriter output, string text)
    {
        Write(output, text);
        return Pop3Action.Close;
    }

    public async Task<Pop3Action> HandleAsync(Pop3Command command, PipeWriter output, CancellationToken ct)
    {
        if (!Pop3StateTable.IsAllowed(State, command.Verb))
            return Err(output, State == Pop3State.Authorization ? "Not authenticated" : "Command not valid now");
        // A user disabled (or removed) since logging in is let go at their next command, without the UPDATE state:
        // messages marked for deletion stay (RFC 1939 deletes only on QUIT).
        if (State == Pop3State.Transaction && User is not null && await directory.SignInRevokedAsync(User, ct))
        {
            Write(output, "-ERR [AUTH] This account is disabled");
            return Pop3Action.Close;
        }
        var args = command.Arguments;
        switch (command.Verb)
        {
            case Pop3Verb.Capa:
                Write(output, "+OK Capability list follows");
                foreach (var cap in Capabilities())
                    Write(output, cap);
                Write(output, ".");
                return Pop3Action.None;
            case Pop3Verb.Stls:
                if (IsTls || options.Certificate is null)
                    return Err(output, IsTls ? "Already using TLS" : "TLS not available");
                Write(output, "+OK Begin TLS negotiation");
                return Pop3Action.StartTls;
            case Pop3Verb.User:
                if (!LoginAllowed)
                    return Err(output, "[AUTH] Plain-text login requires TLS (use STLS)");
                if (args.Count != 1)
                    return Err(output, "Syntax: USER name");
                _userName = args[0];
                Write(output, "+OK Send your password");
                return Pop3Action.None;
            case Pop3Verb.Pass:
                if (_userName is null)
                    return Err(output, "USER first");
                if (args.Count != 1)
                    return Err(output, "Syntax: PASS password");
                var name = _userName;
                _userName = null;
                return await VerifyPasswordAsync(name, args[0], output, ct);
            case Pop3Verb.Auth:
                return await StartSaslAsync(args, output, ct);
            case Pop3Verb.Quit:
                return await QuitAsync(output, ct);
            case Pop3Verb.Noop:
                Write(output, "+OK");
                return Pop3Action.None;
            case Pop3Verb.Stat:
                var live = Live().ToList();
                Write(output, $"+OK {live.Count} {live.Sum(m => m.Message.Size)}");
                return Pop3Action.None;
            case Pop3Verb.List or Pop3Verb.Uidl:
                return ListOrUidl(command.Verb, args, output);
            case Pop3Verb.Retr or Pop3Verb.Top:
                return await RetrieveAsync(command.Verb, args, output, ct);
            case Pop3Verb.Dele:
                if (args.Count != 1)
                    return Err(output, "Syntax: DELE msg");
                if (!TryMessage(args[0], out var n, out var error))
                    return Err(output, error);
                _deleted.Add(n);
                Write(output, $"+OK message {n} deleted");
                return Pop3Action.None;
            case Pop3Verb.Rset:
                _deleted.Clear();
                Write(output, $"+OK maildrop has {_messages.Count} messages");
                return Pop3Action.None;
            default:
                return Err(output, "Unknown command");
        }
    }

    private IEnumerable<string> Capabilities()
    {
        yield return "TOP";
        yield return "UIDL";
        yield return "RESP-CODES";
        yield return "AUTH-RESP-CODE";
        yield return "PIPELINING";
        if (State == Pop3State.Authorization)
        {
            if (!IsTls && options.Certificate is not null)
                yield return "STLS";
            if (LoginAllowed)
            {
                yield return "USER";
                yield return "SASL " + string.Join(' ', SaslServer.Mechanisms);
            }
        }
        yield return "IMPLEMENTATION MailCloud";
    }

    private async Task<Pop3Action> VerifyPasswordAsync(string userName, string password, PipeWriter output, CancellationToken ct)
    {
        if (throttle.IsBlocked(client))
            return Close(output, "-ERR [AUTH] Too many authentication failures, try again later");
        UserInfo? user;
        try
        {
            user = await directory.VerifyPasswordAsync(userName, password, ct);
        }
        catch (ArgumentException)
        {
            user = null;
        }
        catch (Exception e) when (StorageErrors.IsStorageFailure(e))
        {
            Write(output, "-ERR [SYS/TEMP] Temporary failure, try again later");
            return Pop3Action.None;
        }
        return await CompleteLoginAsync(user, output, ct);
    }

    private async Task<Pop3Action> StartSaslAsync(IReadOnlyList<string> args, PipeWriter output, CancellationToken ct)
    {
        if (!LoginAllowed)
            return Err(output, "[AUTH] Authentication requires TLS (use STLS)");
        if (args.Count == 0)
        {
            // RFC 5034 allows a bare AUTH to list mechanisms.
            Write(output, "+OK");
            foreach (var m in SaslServer.Mechanisms)
                Write(output, m);
            Write(output, ".");
            return Pop3Action.None;
        }
        if (!SaslServer.IsSupported(args[0]))
            return Err(output, "Unsupported authentication mechanism");
        if (throttle.IsBlocked(client))
            return Close(output, "-ERR [AUTH] Too many authentication failures, try again later");
        _sasl = new SaslServer(directory);
        var initial = args.Count > 1 ? (args[1] == "=" ? string.Empty : args[1]) : null;
        return await SaslStepAsync(await _sasl.StartAsync(args[0], initial, ct), output, ct);
    }

    /// <summary>The client's answer to a "+ " challenge ("*" cancels).</summary>
    public async Task<Pop3Action> HandleSaslResponseAsync(string line, PipeWriter output, CancellationToken ct)
    {
        var sasl = _sasl;
        if (sasl is null || line.Trim() == "*")
        {
            _sasl = null;
            return Err(output, "Authentication cancelled");
        }
        return await SaslStepAsync(await sasl.ContinueAsync(line, ct), output, ct);
    }

    private async Task<Pop3Action> SaslStepAsync(SaslStep step, PipeWriter output, CancellationToken ct)
    {
        if (step.Status != SaslStatus.Challenge)
            _sasl = null;
        switch (step.Status)
        {
            case SaslStatus.Challenge:
                Write(output, "+ " + Convert.ToBase64String(Encoding.UTF8.GetBytes(step.Challenge ?? string.Empty)));
                return Pop3Action.AwaitSaslResponse;
            case SaslStatus.Malformed:
                return Err(output, "Malformed authentication response");
            case SaslStatus.Unavailable:
                Write(output, "-ERR [SYS/TEMP] Temporary failure, try again later");
                return Pop3Action.None;
            default:
                return await CompleteLoginAsync(step.User, output, ct);
        }
    }

    private async Task<Pop3Action> CompleteLoginAsync(UserInfo? user, PipeWriter output, CancellationToken ct)
    {
        if (user is null)
        {
            var delay = throttle.RecordFailure(client);
            if (delay > TimeSpan.Zero)
                await Task.Delay(delay, ct);
            return Err(output, "[AUTH] Authentication failed");
        }
        throttle.RecordSuccess(client);
        // One session per maildrop (RFC 1939): the lock outlives a dead session only until it expires.
        Lock = await store.TryLockAsync(user.Address, "pop3", options.IdleTimeout + TimeSpan.FromMinutes(5), ct);
        if (Lock is null)
            return Err(output, "[IN-USE] Maildrop is already in use by another session");
        User = user.Address;
        var inbox = await store.OpenAsync(user.Address, Folder, ct);
        _messages = [.. inbox.Messages];
        _uidValidity = inbox.UidValidity;
        State = Pop3State.Transaction;
        Write(output, $"+OK {user.Address} has {_messages.Count} messages ({_messages.Sum(m => m.Size)} octets)");
        return Pop3Action.None;
    }

    private IEnumerable<(int Number, MailboxMessage Message)> Live() =>
        _messages.Select((m, i) => (i + 1, m)).Where(x => !_deleted.Contains(x.Item1));

    private bool TryMessage(string arg, out int number, out string error)
    {
        error = string.Empty;
        if (!int.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number < 1 || number > _messages.Count)
        {
            error = "No such message";
            return false;
        }
        if (_deleted.Contains(number))
        {
            error = "Message already deleted";
            return false;
        }
        return true;
    }

    /// <summary>Stable across sessions while the folder keeps its UIDVALIDITY.</summary>
    private string UniqueId(MailboxMessage m) => $"{_uidValidity}.{m.Uid}";

    private Pop3Action ListOrUidl(Pop3Verb verb, IReadOnlyList<string> args, PipeWriter output)
    {
        string Item(int n, MailboxMessage m) => verb == Pop3Verb.List ? $"{n} {m.Size}" : $"{n} {UniqueId(m)}";
        if (args.Count == 1)
        {
            if (!TryMessage(args[0], out var n, out var error))
                return Err(output, error);
            Write(output, "+OK " + Item(n, _messages[n - 1]));
            return Pop3Action.None;
        }
        Write(output, verb == Pop3Verb.List ? $"+OK {Live().Count()} messages" : "+OK");
        foreach (var (n, m) in Live())
            Write(output, Item(n, m));
        Write(output, ".");
        return Pop3Action.None;
    }

    private async Task<Pop3Action> RetrieveAsync(Pop3Verb verb, IReadOnlyList<string> args, PipeWriter output, CancellationToken ct)
    {
        int bodyLines = -1;
        if (args.Count != (verb == Pop3Verb.Retr ? 1 : 2) || verb == Pop3Verb.Top && !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out bodyLines))
            return Err(output, verb == Pop3Verb.Retr ? "Syntax: RETR msg" : "Syntax: TOP msg lines");
        if (!TryMessage(args[0], out var n, out var error))
            return Err(output, error);
        var message = _messages[n - 1];
        Stream download;
        try
        {
            // The row carries the header lines the delivery put in front of the blob (its verdict): one point read.
            var row = await store.GetMessageAsync(User!, Folder, message.Uid, MessageDetail.Content, ct);
            if (row is null)
                return Err(output, "Message was deleted by another client");
            download = await messages.OpenReadAsync(message.Blob, row.Prefix, 0, null, ct);
        }
        catch (Exception e) when (StorageErrors.IsStorageFailure(e))
        {
            Write(output, "-ERR [SYS/TEMP] Message cannot be read now, try again later");
            return Pop3Action.None;
        }
        await using (download)
        {
            Write(output, verb == Pop3Verb.Retr ? $"+OK {message.Size} octets" : "+OK");
            await WriteDotStuffedAsync(download, output, bodyLines, ct);
        }
        Write(output, ".");
        return Pop3Action.None;
    }

    /// <summary>Copies lines with dot-stuffing and CRLF endings; with <paramref name="bodyLines"/> ≥ 0, headers plus that many body lines.</summary>
    private static async Task WriteDotStuffedAsync(Stream source, PipeWriter output, int bodyLines, CancellationToken ct)
    {
        var reader = PipeReader.Create(source);
        bool inBody = false;
        int bodyCount = 0;
        while (true)
        {
            var result = await reader.ReadAsync(ct);
            var buffer = result.Buffer;
            while (LineReader.TryReadLine(ref buffer, out var line) || result.IsCompleted && !buffer.IsEmpty && TakeRest(ref buffer, out line))
            {
                if (inBody && bodyLines >= 0 && bodyCount++ >= bodyLines)
                {
                    await reader.CompleteAsync();
                    return;
                }
                if (!line.IsEmpty && line.FirstSpan[0] == (byte)'.')
                    output.Write("."u8);
                foreach (var segment in line)
                    output.Write(segment.Span);
                output.Write("\r\n"u8);
                if (line.IsEmpty)
                    inBody = true;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            await output.FlushAsync(ct);
            if (result.IsCompleted)
                break;
        }
        await reader.CompleteAsync();
    }

    private static bool TakeRest(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        line = buffer;
        buffer = buffer.Slice(buffer.End);
        return true;
    }

    private async Task<Pop3Action> QuitAsync(PipeWriter output, CancellationToken ct)
    {
        if (State == Pop3State.Authorization)
            return Close(output, "+OK Bye");
        // UPDATE state: the deletions become real only now.
        var doomed = _deleted.Select(n => _messages[n - 1]).ToList();
        try
        {
            if (doomed.Count > 0)
                await store.ExpungeAsync(User!, Folder, doomed, ct);
        }
        catch (Exception e) when (StorageErrors.IsStorageFailure(e))
        {
            return Close(output, "-ERR [SYS/TEMP] Some deleted messages not removed, try again later");
        }
        return Close(output, $"+OK Bye ({doomed.Count} deleted)");
    }
}
