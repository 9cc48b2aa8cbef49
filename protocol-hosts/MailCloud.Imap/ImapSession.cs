using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Imap;

public enum ImapAction
{
    None,
    Close,
    StartTls,

    /// <summary>A "+" challenge is out; the next line is the client's SASL response.</summary>
    AwaitSaslResponse,

    /// <summary>IDLE began; the handler waits for DONE and for folder changes.</summary>
    Idle,

    /// <summary>COMPRESS DEFLATE was accepted: everything after the tagged OK is compressed (RFC 4978).</summary>
    Compress,
}

/// <summary>What a command ends with: the tagged line (null when the command is not finished yet) and what the connection does next.</summary>
internal readonly record struct Completion(string? Text, ImapAction Action = ImapAction.None)
{
    public static implicit operator Completion(string text) => new(text);
}

/// <summary>
/// One IMAP session: states and commands over the mailbox store (<see cref="IMailboxStore"/>) and the raw messages
/// (<see cref="IMessageContent"/>). Writes responses to a pipe; knows nothing of sockets. Sequence numbers are this session's view:
/// changes made elsewhere are merged in at command boundaries and in IDLE (<see cref="SyncAsync"/>), and
/// expunges are held back during FETCH, STORE and SEARCH as RFC 3501 7.4.1 requires.
/// </summary>
public sealed partial class ImapSession(
    ImapServerOptions options,
    IPAddress client,
    IMailDirectory directory,
    IMailboxStore store,
    IMessageContent messages,
    AuthThrottle throttle,
    FolderWatcher watcher,
    ILogger logger,
    ISpamTraining? training = null) : IDisposable
{
    private SaslServer? _sasl;
    private string? _saslTag;
    private string? _idleTag;
    private bool _condStore;
    private bool _rev2;
    private bool _compressed;

    /// <summary>UIDs kept by SEARCH RETURN (SAVE), named "$" (RFC 5182); cleared when the folder changes.</summary>
    private HashSet<long> _saved = [];
    private SelectedFolder? _selected;

    public ImapState State { get; private set; } = ImapState.NotAuthenticated;
    public bool IsTls { get; private set; }
    public MailAddress? User { get; private set; }
    public int Errors { get; private set; }

    /// <summary>The selected folder's change feed, for the handler's IDLE loop.</summary>
    public FolderWatcher.Subscription? Watch => _selected?.Watch;

    private bool LoginAllowed => IsTls || options.AllowPlainWithoutTls;

    /// <summary>Largest literal the framer accepts now: messages only after login.</summary>
    public long MaxLiteral => State == ImapState.NotAuthenticated ? options.MaxLiteralBeforeLogin : options.MaxMessageSize;

    public static void Write(PipeWriter output, string line) => output.Write(Encoding.UTF8.GetBytes(line + "\r\n"));

    public void Greeting(PipeWriter output) => Write(output, $"* OK [CAPABILITY {Capabilities()}] {options.HostName} MailCloud IMAP ready");

    public void OnTlsEstablished() => IsTls = true;

    private string Capabilities()
    {
        var caps = new List<string> { "IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE",
            "CHILDREN", "SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "QUOTA", "QUOTA=RES-STORAGE", "CONDSTORE", "ESEARCH", "SEARCHRES", "BINARY", "STATUS=SIZE" };
        if (!_compressed && State != ImapState.NotAuthenticated)
            caps.Add("COMPRESS=DEFLATE");
        if (State == ImapState.NotAuthenticated)
        {
            if (!IsTls && options.Certificate is not null)
                caps.Add("STARTTLS");
            if (LoginAllowed)
                caps.AddRange(SaslServer.Mechanisms.Select(m => "AUTH=" + m));
            else
                caps.Add("LOGINDISABLED");
        }
        return string.Join(' ', caps);
    }

    /// <summary>A BAD for input that did not parse; too many and the session ends.</summary>
    public ImapAction Bad(PipeWriter output, string tag, string text)
    {
        Errors++;
        Write(output, $"{tag} BAD {text}");
        if (Errors < options.MaxErrors)
            return ImapAction.None;
        Write(output, "* BYE Too many errors");
        return ImapAction.Close;
    }

    public async Task<ImapAction> HandleAsync(ImapCommand command, PipeWriter output, CancellationToken ct)
    {
        if (!ImapStateTable.IsAllowed(State, command))
        {
            return Bad(output, command.Tag, !ImapStateTable.IsKnown(command.Name) ? "Unknown command"
                : State == ImapState.NotAuthenticated ? "Log in first" : State == ImapState.Authenticated && !command.Uid ? "Select a mailbox first" : "Command not valid now");
        }
        // A user disabled (or removed) since logging in is let go at their next command.
        if (User is not null && command.Name != "LOGOUT" && await directory.SignInRevokedAsync(User, ct))
        {
            Write(output, "* BYE This account is disabled");
            State = ImapState.Logout;
            return ImapAction.Close;
        }
        Completion done;
        try
        {
            done = await RunAsync(command, output, ct);
        }
        catch (Exception e) when (StorageErrors.IsStorageFailure(e))
        {
            logger.LogWarning("storage failure in {Command}: {Error}", command.Name, e.Message);
            done = "NO [UNAVAILABLE] Temporary storage failure, try again";
        }
        catch (FolderNotFoundException)
        {
            done = "NO [NONEXISTENT] No such mailbox";
        }
        if (done.Text is null)
            return done.Action;
        if (done.Text.StartsWith("BAD", StringComparison.Ordinal))
            Errors++;
        // Changes made elsewhere are reported before the tagged reply (not EXPUNGE during FETCH, STORE, SEARCH).
        if (_selected is not null && done.Action == ImapAction.None)
        {
            bool allowExpunge = command.Uid || command.Name is not ("FETCH" or "STORE" or "SEARCH");
            try
            {
                await SyncAsync(output, allowExpunge, force: command.Name is "NOOP" or "CHECK", ct);
            }
            catch (Exception e) when (StorageErrors.IsStorageFailure(e))
            {
                logger.LogDebug("sync failed: {Error}", e.Message);
            }
        }
        Write(output, $"{command.Tag} {done.Text}");
        return done.Action;
    }

    private async Task<Completion> RunAsync(ImapCommand c, PipeWriter output, CancellationToken ct)
    {
        var a = c.Args;
        switch (c.Name)
        {
            case "CAPABILITY":
                Write(output, "* CAPABILITY " + Capabilities());
                return "OK CAPABILITY completed";
            case "NOOP":
                return "OK NOOP completed";
            case "CHECK":
                return "OK CHECK completed";
            case "LOGOUT":
                Write(output, "* BYE Logging out");
                State = ImapState.Logout;
                return new Completion("OK LOGOUT completed", ImapAction.Close);
            case "ID":
                Write(output, "* ID (\"name\" \"MailCloud\" \"vendor\" \"MailCloud\")");
                return "OK ID completed";
            case "STARTTLS":
                if (IsTls)
                    return "BAD Already using TLS";
                if (options.Certificate is null)
                    return "NO TLS is not available";
                return new Completion("OK Begin TLS negotiation now", ImapAction.StartTls);
            case "LOGIN":
                if (a.Count != 2 || a[0].IsList || a[1].IsList)
                    return "BAD Syntax: LOGIN user password";
                if (!LoginAllowed)
                    return "NO [PRIVACYREQUIRED] Use STARTTLS first";
                return await LoginAsync(a[0].Text, a[1].Text, ct);
            case "AUTHENTICATE":
                return await AuthenticateAsync(c, output, ct);
            case "ENABLE":
                var enabled = new List<string>();
                foreach (var t in a)
                {
                    if (t.IsAtom("CONDSTORE"))
                    {
                        _condStore = true;
                        enabled.Add("CONDSTORE");
                    }
                    else if (t.IsAtom("IMAP4rev2"))
                    {
                        _rev2 = true;
                        enabled.Add("IMAP4rev2");
                    }
                }
                Write(output, "* ENABLED" + string.Concat(enabled.Select(e => " " + e)));
                return "OK ENABLE completed";
            case "NAMESPACE":
                Write(output, $"* NAMESPACE ((\"\" \"{MailboxStore.Separator}\")) NIL NIL");
                return "OK NAMESPACE completed";
            case "SELECT" or "EXAMINE":
                return await SelectAsync(c, output, ct);
            case "CREATE":
                return await CreateAsync(a, ct);
            case "DELETE":
                return await DeleteAsync(a, ct);
            case "RENAME":
                return await RenameAsync(a, ct);
            case "SUBSCRIBE" or "UNSUBSCRIBE":
                if (a.Count != 1 || a[0].IsList)
                    return $"BAD Syntax: {c.Name} mailbox";
                return await store.SetSubscribedAsync(User!, Normalize(a[0].Text), c.Name == "SUBSCRIBE", ct) ? $"OK {c.Name} completed" : "NO [NONEXISTENT] No such mailbox";
            case "LIST" or "LSUB":
                return await ListAsync(c, output, ct);
            case "STATUS":
                return await StatusAsync(a, output, ct);
            case "APPEND":
                return await AppendAsync(a, output, ct);
            case "GETQUOTAROOT" or "GETQUOTA":
                return await QuotaAsync(c, output, ct);
            case "COMPRESS":
                if (a.Count != 1 || !a[0].IsAtom("DEFLATE"))
                    return "BAD Syntax: COMPRESS DEFLATE";
                if (_compressed)
                    return "NO [COMPRESSIONACTIVE] Compression is already on";
                _compressed = true;
                return new Completion("OK DEFLATE active", ImapAction.Compress);
            case "SETQUOTA":
                return "NO [NOPERM] Quotas are set by the administrator (mailcloud user quota)";
            case "IDLE":
                Write(output, "+ idling");
                _idleTag = c.Tag;
                if (_selected is not null)
                    _selected.Watch.Idling = true;
                return new Completion(null, ImapAction.Idle);
            case "CLOSE" or "UNSELECT":
                if (c.Name == "CLOSE" && !_selected!.ReadOnly)
                    await ExpungeDeletedAsync(null, output: null, ct);
                Unselect();
                return $"OK {c.Name} completed";
            case "EXPUNGE":
                return await ExpungeAsync(c, output, ct);
            case "SEARCH":
                return await SearchAsync(c, output, ct);
            case "FETCH":
                return await FetchAsync(c, output, ct);
            case "STORE":
                return await StoreAsync(c, output, ct);
            case "COPY" or "MOVE":
                return await CopyAsync(c, output, ct);
            default:
                return "BAD Unknown command";
        }
    }

    /// <summary>IDLE ended with DONE.</summary>
    public async Task EndIdleAsync(PipeWriter output, CancellationToken ct)
    {
        if (_selected is not null)
        {
            _selected.Watch.Idling = false;
            await SyncAsync(output, allowExpunge: true, force: false, ct);
        }
        Write(output, $"{_idleTag} OK IDLE terminated");
        _idleTag = null;
    }

    /// <summary>During IDLE: a change was announced; report it now.</summary>
    public Task IdleUpdateAsync(PipeWriter output, CancellationToken ct) =>
        _selected is null ? Task.CompletedTask : SyncAsync(output, allowExpunge: true, force: false, ct);

    private async Task<Completion> LoginAsync(string userName, string password, CancellationToken ct)
    {
        if (throttle.IsBlocked(client))
            return new Completion("NO [UNAVAILABLE] Too many authentication failures, try again later", ImapAction.Close);
        UserInfo? user;
        try
        {
            user = await directory.VerifyPasswordAsync(userName, password, ct);
        }
        catch (ArgumentException)
        {
            user = null;
        }
        return await CompleteLoginAsync(user, ct);
    }

    private async Task<Completion> AuthenticateAsync(ImapCommand c, PipeWriter output, CancellationToken ct)
    {
        if (c.Args.Count is < 1 or > 2 || c.Args.Any(t => t.IsList))
            return "BAD Syntax: AUTHENTICATE mechanism [initial-response]";
        if (!LoginAllowed)
            return "NO [PRIVACYREQUIRED] Use STARTTLS first";
        var mechanism = c.Args[0].Text;
        if (!SaslServer.IsSupported(mechanism))
            return "NO [CANNOT] Unsupported authentication mechanism";
        if (throttle.IsBlocked(client))
            return new Completion("NO [UNAVAILABLE] Too many authentication failures, try again later", ImapAction.Close);
        _sasl = new SaslServer(directory);
        _saslTag = c.Tag;
        var initial = c.Args.Count > 1 ? (c.Args[1].Text == "=" ? string.Empty : c.Args[1].Text) : null;
        return await SaslStepAsync(await _sasl.StartAsync(mechanism, initial, ct), output, ct);
    }

    /// <summary>The client's answer to a "+" challenge ("*" cancels). Writes the tagged reply when the exchange ends.</summary>
    public async Task<ImapAction> HandleSaslResponseAsync(string line, PipeWriter output, CancellationToken ct)
    {
        var sasl = _sasl;
        var tag = _saslTag ?? "*";
        Completion done;
        if (sasl is null || line.Trim() == "*")
        {
            _sasl = null;
            done = "BAD Authentication cancelled";
        }
        else
            done = await SaslStepAsync(await sasl.ContinueAsync(line, ct), output, ct);
        if (done.Text is not null)
            Write(output, $"{tag} {done.Text}");
        return done.Action;
    }

    private async Task<Completion> SaslStepAsync(SaslStep step, PipeWriter output, CancellationToken ct)
    {
        if (step.Status != SaslStatus.Challenge)
            _sasl = null;
        switch (step.Status)
        {
            case SaslStatus.Challenge:
                Write(output, "+ " + Convert.ToBase64String(Encoding.UTF8.GetBytes(step.Challenge ?? string.Empty)));
                return new Completion(null, ImapAction.AwaitSaslResponse);
            case SaslStatus.Malformed:
                return "BAD Malformed authentication response";
            case SaslStatus.Unavailable:
                return "NO [UNAVAILABLE] Temporary failure, try again later";
            default:
                return await CompleteLoginAsync(step.User, ct);
        }
    }

    private async Task<Completion> CompleteLoginAsync(UserInfo? user, CancellationToken ct)
    {
        if (user is null)
        {
            var delay = throttle.RecordFailure(client);
            if (delay > TimeSpan.Zero)
                await Task.Delay(delay, ct);
            return "NO [AUTHENTICATIONFAILED] Authentication failed";
        }
        throttle.RecordSuccess(client);
        User = user.Address;
        _quota = user.QuotaBytes;
        await store.EnsureDefaultFoldersAsync(user.Address, ct);
        State = ImapState.Authenticated;
        logger.LogInformation("login {User}", user.Address);
        return $"OK [CAPABILITY {Capabilities()}] Logged in";
    }

    private long? _quota;

    /// <summary>INBOX is case-insensitive (RFC 3501 5.1); other names are kept as the client writes them (modified UTF-7).</summary>
    private string Normalize(string name)
    {
        name = Decode(name).TrimEnd(MailboxStore.Separator);
        if (string.Equals(name, "INBOX", StringComparison.OrdinalIgnoreCase))
            return "INBOX";
        if (name.StartsWith("INBOX" + MailboxStore.Separator, StringComparison.OrdinalIgnoreCase))
            return "INBOX" + name[5..];
        return name;
    }

    /// <summary>A name as the client wrote it, in UTF-8: IMAP4rev1 clients write modified UTF-7, IMAP4rev2 clients UTF-8.</summary>
    private string Decode(string name) => !_rev2 && ModifiedUtf7.TryDecode(name, out var decoded) ? decoded : name;

    /// <summary>A stored (UTF-8) name as this client expects it.</summary>
    private string MailboxName(string name) => ImapFormat.Mailbox(_rev2 ? name : ModifiedUtf7.Encode(name));

    private void Unselect()
    {
        _saved = [];
        _selected?.Watch.Dispose();
        _selected = null;
        if (State == ImapState.Selected)
            State = ImapState.Authenticated;
    }

    public void Dispose() => Unselect();
}
