using System.Net;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;

namespace MailCloud.Smtp;

/// <summary>What the connection must do after sending a reply.</summary>
public enum SmtpAction
{
    None,
    Close,
    StartTls,
    ReceiveData,
    ReceiveChunk,
    SkipChunk,
    AwaitAuthResponse,
}

public sealed record SmtpStep(SmtpReply? Reply, SmtpAction Action = SmtpAction.None, long ChunkSize = 0, bool LastChunk = false, TimeSpan Delay = default);

/// <summary>
/// One SMTP session's decisions, apart from any socket: state, envelope, AUTH exchanges, policy (relay, ownership,
/// quota). The connection handler feeds it parsed commands and does what the returned <see cref="SmtpStep"/> says.
/// </summary>
public sealed class SmtpSession(
    SmtpServerOptions options,
    SmtpListener listener,
    IPAddress clientAddress,
    IMailDirectory directory,
    IMailboxUsage usage,
    AuthThrottle throttle)
{
    private readonly List<EnvelopeRecipient> _recipients = [];

    public SmtpState State { get; private set; } = SmtpState.Connected;
    public string Helo { get; private set; } = string.Empty;
    public bool Extended { get; private set; }
    public TlsInfo? Tls { get; private set; }
    public UserInfo? User { get; private set; }
    public int Errors { get; private set; }

    // The transaction.
    public string? Sender { get; private set; }
    public IReadOnlyList<EnvelopeRecipient> Recipients => _recipients;
    public long DeclaredSize { get; private set; }
    public string Body { get; private set; } = "7BIT";
    public bool SmtpUtf8 { get; private set; }
    public string? Ret { get; private set; }
    public string? EnvId { get; private set; }

    public bool IsTls => Tls is not null;
    private bool AuthOffered => IsTls || options.AllowAuthWithoutTls;

    public SmtpReply Greeting() => new(220, null, $"{options.HostName} ESMTP MailCloud");

    public void OnTlsEstablished(TlsInfo tls)
    {
        Tls = tls;
        // RFC 3207: forget everything learned before TLS; the client must EHLO again.
        State = SmtpState.Connected;
        Helo = string.Empty;
        User = null;
        ResetTransaction();
    }

    public SmtpReply CountError(SmtpReply reply)
    {
        if (reply.Code >= 500 || reply == SmtpReply.AuthFailed)
            Errors++;
        return Errors >= options.MaxErrors ? SmtpReply.TooManyErrors : reply;
    }

    public bool TooManyErrors => Errors >= options.MaxErrors;

    public void ResetTransaction()
    {
        Sender = null;
        _recipients.Clear();
        DeclaredSize = 0;
        Body = "7BIT";
        Chunked = false;
        SmtpUtf8 = false;
        Ret = null;
        EnvId = null;
        if (State is SmtpState.HaveSender or SmtpState.HaveRecipients or SmtpState.Chunking)
            State = SmtpState.Ready;
    }

    public async Task<SmtpStep> HandleAsync(SmtpCommand command, CancellationToken cancellationToken)
    {
        if (!SmtpStateTable.IsAllowed(State, command.Verb))
        {
            // A refused BDAT still carries its chunk, which must be read and thrown away (RFC 3030).
            if (command.Verb == SmtpVerb.Bdat && TryParseBdat(command.Argument, out var size, out _))
                return new SmtpStep(SmtpReply.BadSequence, SmtpAction.SkipChunk, size);
            return new SmtpStep(SmtpReply.BadSequence);
        }
        return command.Verb switch
        {
            SmtpVerb.Helo or SmtpVerb.Ehlo => new SmtpStep(Hello(command)),
            SmtpVerb.Mail => new SmtpStep(await MailAsync(command, cancellationToken).ConfigureAwait(false)),
            SmtpVerb.Rcpt => new SmtpStep(await RcptAsync(command, cancellationToken).ConfigureAwait(false)),
            SmtpVerb.Data => Data(),
            SmtpVerb.Bdat => Bdat(command),
            SmtpVerb.Rset => Rset(),
            SmtpVerb.Noop => new SmtpStep(SmtpReply.Ok),
            SmtpVerb.Quit => new SmtpStep(new SmtpReply(221, "2.0.0", $"{options.HostName} closing connection"), SmtpAction.Close),
            SmtpVerb.Vrfy => new SmtpStep(new SmtpReply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery")),
            SmtpVerb.Expn => new SmtpStep(new SmtpReply(502, "5.5.1", "EXPN is not available")),
            SmtpVerb.Help => new SmtpStep(new SmtpReply(214, "2.0.0", "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY STARTTLS AUTH")),
            SmtpVerb.StartTls => StartTls(),
            SmtpVerb.Auth => await AuthAsync(command.Argument, cancellationToken).ConfigureAwait(false),
            _ => new SmtpStep(SmtpReply.NotImplemented),
        };
    }

    private SmtpStep Rset()
    {
        ResetTransaction();
        return new SmtpStep(SmtpReply.Ok);
    }

    private SmtpReply Hello(SmtpCommand command)
    {
        ResetTransaction();
        Helo = command.Argument.Split(' ')[0];
        Extended = command.Verb == SmtpVerb.Ehlo;
        State = SmtpState.Ready;
        if (!Extended)
            return new SmtpReply(250, null, $"{options.HostName} Hello {Helo}");
        var lines = new List<string>
        {
            $"{options.HostName} Hello {Helo} [{clientAddress}]",
            "PIPELINING",
            $"SIZE {options.MaxMessageSize}",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
            "CHUNKING",
            "BINARYMIME",
            "DSN",
        };
        if (!IsTls && options.Certificate is not null)
            lines.Add("STARTTLS");
        if (AuthOffered && User is null)
            lines.Add("AUTH PLAIN LOGIN SCRAM-SHA-256");
        lines.Add("HELP");
        return new SmtpReply(250, null, [.. lines]);
    }

    private SmtpStep StartTls()
    {
        if (IsTls)
            return new SmtpStep(new SmtpReply(503, "5.5.1", "TLS already active"));
        if (options.Certificate is null)
            return new SmtpStep(new SmtpReply(454, "4.7.0", "TLS not available"));
        return new SmtpStep(new SmtpReply(220, "2.0.0", "Ready to start TLS"), SmtpAction.StartTls);
    }

    private static bool RequiresUtf8(string s) => s.Any(c => c > 0x7f);

    private async Task<SmtpReply> MailAsync(SmtpCommand command, CancellationToken cancellationToken)
    {
        // An account disabled (or removed) since AUTH sends nothing more: its sign-in ends, and the session goes on
        // unauthenticated (on submission every MAIL then needs AUTH again, which refuses it).
        if (User is not null && await directory.SignInRevokedAsync(User.Address, cancellationToken).ConfigureAwait(false))
        {
            User = null;
            return new SmtpReply(530, "5.7.0", "This account is disabled; authentication required");
        }
        if (listener.Role == SmtpListenerRole.Submission && User is null)
            return SmtpReply.AuthRequired;

        var parameters = command.Parameters ?? new Dictionary<string, string?>();
        foreach (var key in parameters.Keys)
        {
            if (key is not ("SIZE" or "BODY" or "SMTPUTF8" or "RET" or "ENVID" or "AUTH"))
                return new SmtpReply(555, "5.5.4", $"Unsupported MAIL parameter {key}");
        }
        long size = 0;
        if (command.Parameter("SIZE") is { } sizeText && !long.TryParse(sizeText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size))
            return new SmtpReply(501, "5.5.4", "SIZE must be a number");
        if (size > options.MaxMessageSize)
            return new SmtpReply(552, "5.3.4", $"Message size exceeds fixed maximum message size ({options.MaxMessageSize})");
        var body = (command.Parameter("BODY") ?? "7BIT").ToUpperInvariant();
        if (body is not ("7BIT" or "8BITMIME" or "BINARYMIME"))
            return new SmtpReply(501, "5.5.4", "BODY must be 7BIT, 8BITMIME or BINARYMIME");
        var ret = command.Parameter("RET")?.ToUpperInvariant();
        if (command.HasParameter("RET") && ret is not ("FULL" or "HDRS"))
            return new SmtpReply(501, "5.5.4", "RET must be FULL or HDRS");
        bool utf8 = command.HasParameter("SMTPUTF8");
        if (utf8 && command.Parameter("SMTPUTF8") is not null)
            return new SmtpReply(501, "5.5.4", "SMTPUTF8 takes no value");

        var path = command.Path ?? string.Empty;
        if (RequiresUtf8(path) && !utf8)
            return new SmtpReply(553, "5.6.7", "Non-ASCII sender address requires SMTPUTF8");
        string sender = string.Empty;
        if (path.Length > 0)
        {
            if (!MailAddress.TryParse(path, out var address, out _))
                return new SmtpReply(501, "5.1.7", "Bad sender address syntax");
            sender = address.Address;
            if (User is not null && !await directory.OwnsAsync(User, address, cancellationToken).ConfigureAwait(false))
                return new SmtpReply(553, "5.7.1", $"Sender address {address} is not owned by {User.Address}");
        }
        else if (User is not null)
        {
            return new SmtpReply(553, "5.7.1", "Authenticated users must use one of their own addresses as sender");
        }

        Sender = sender;
        DeclaredSize = size;
        Body = body;
        SmtpUtf8 = utf8;
        Ret = ret;
        EnvId = command.Parameter("ENVID");
        State = SmtpState.HaveSender;
        return new SmtpReply(250, "2.1.0", "Sender ok");
    }

    private async Task<SmtpReply> RcptAsync(SmtpCommand command, CancellationToken cancellationToken)
    {
        if (_recipients.Count >= options.MaxRecipients)
            return new SmtpReply(452, "4.5.3", "Too many recipients");
        foreach (var key in (command.Parameters ?? new Dictionary<string, string?>()).Keys)
        {
            if (key is not ("NOTIFY" or "ORCPT"))
                return new SmtpReply(555, "5.5.4", $"Unsupported RCPT parameter {key}");
        }
        var notify = command.Parameter("NOTIFY")?.ToUpperInvariant();
        if (command.HasParameter("NOTIFY"))
        {
            var parts = (notify ?? string.Empty).Split(',');
            if (!(parts is ["NEVER"] || parts.All(p => p is "SUCCESS" or "FAILURE" or "DELAY")))
                return new SmtpReply(501, "5.5.4", "NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY");
        }
        var orcpt = command.Parameter("ORCPT");
        if (orcpt is not null && !orcpt.Contains(';', StringComparison.Ordinal))
            return new SmtpReply(501, "5.5.4", "ORCPT must be addr-type;address");

        var path = command.Path ?? string.Empty;
        if (RequiresUtf8(path) && !SmtpUtf8)
            return new SmtpReply(553, "5.6.7", "Non-ASCII recipient address requires SMTPUTF8");
        if (!MailAddress.TryParse(path, out var address, out _))
            return new SmtpReply(501, "5.1.3", "Bad recipient address syntax");

        RecipientResolution resolution;
        try
        {
            resolution = await directory.ResolveRecipientAsync(address, cancellationToken).ConfigureAwait(false);
            switch (resolution.Kind)
            {
                case RecipientKind.NotHosted when User is null:
                    return new SmtpReply(550, "5.7.1", $"Relay access denied for <{address}>");
                case RecipientKind.Unknown:
                    return new SmtpReply(550, "5.1.1", $"<{address}>: user unknown");
                case RecipientKind.User when await OverQuotaAsync(resolution.User!, cancellationToken).ConfigureAwait(false):
                    return new SmtpReply(452, "4.2.2", $"<{address}>: mailbox full");
                case RecipientKind.Alias:
                    foreach (var target in resolution.Targets!)
                    {
                        var t = await directory.ResolveRecipientAsync(target, cancellationToken).ConfigureAwait(false);
                        if (t.Kind == RecipientKind.User && await OverQuotaAsync(t.User!, cancellationToken).ConfigureAwait(false))
                            return new SmtpReply(452, "4.2.2", $"<{address}>: mailbox full");
                    }
                    break;
            }
        }
        catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException)
        {
            return SmtpReply.StorageFailure;
        }

        if (!_recipients.Any(r => string.Equals(r.Address, address.Address, StringComparison.OrdinalIgnoreCase)))
            _recipients.Add(new EnvelopeRecipient(address.Address, notify, orcpt));
        State = SmtpState.HaveRecipients;
        return new SmtpReply(250, "2.1.5", "Recipient ok");
    }

    private async Task<bool> OverQuotaAsync(UserInfo user, CancellationToken cancellationToken) =>
        user.QuotaBytes is { } quota && await usage.GetUsedBytesAsync(user.Address, cancellationToken).ConfigureAwait(false) + Math.Max(DeclaredSize, 0) > quota;

    private SmtpStep Data()
    {
        if (Body == "BINARYMIME")
            return new SmtpStep(new SmtpReply(503, "5.5.1", "BODY=BINARYMIME requires BDAT"));
        return new SmtpStep(new SmtpReply(354, null, "End data with <CR><LF>.<CR><LF>"), SmtpAction.ReceiveData);
    }

    internal static bool TryParseBdat(string argument, out long size, out bool last)
    {
        size = 0;
        last = false;
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is not (1 or 2))
            return false;
        if (parts.Length == 2)
        {
            if (!parts[1].Equals("LAST", StringComparison.OrdinalIgnoreCase))
                return false;
            last = true;
        }
        return long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size);
    }

    /// <summary>The message is coming (or came) in BDAT chunks.</summary>
    public bool Chunked { get; private set; }

    private SmtpStep Bdat(SmtpCommand command)
    {
        if (!TryParseBdat(command.Argument, out var size, out var last))
            return new SmtpStep(new SmtpReply(501, "5.5.4", "Syntax: BDAT size [LAST]"));
        State = SmtpState.Chunking;
        Chunked = true;
        return new SmtpStep(null, SmtpAction.ReceiveChunk, size, last);
    }

    /// <summary>The transaction's envelope, for the spool.</summary>
    public Envelope BuildEnvelope(DateTimeOffset receivedAt) => new()
    {
        Sender = Sender ?? string.Empty,
        Recipients = [.. _recipients],
        Ret = Ret,
        EnvId = EnvId,
        Body = Body,
        Chunked = Chunked,
        SmtpUtf8 = SmtpUtf8,
        AuthenticatedUser = User?.Address.Address,
        ClientAddress = clientAddress.ToString(),
        Helo = Helo,
        Tls = Tls,
        Listener = Listener,
        ReceivedAt = receivedAt,
    };

    /// <summary>The trace header prepended to the stored message (RFC 5321 4.4, with RFC 3848/6531 "with" types).</summary>
    /// <summary>mx or submission: the listener's role as envelopes and metrics name it.</summary>
    public string Listener => listener.Role == SmtpListenerRole.Mx ? "mx" : "submission";

    public string BuildReceivedHeader(string messageId, DateTimeOffset now)
    {
        var with = (SmtpUtf8 ? "UTF8SMTP" : Extended ? "ESMTP" : "SMTP") + (IsTls ? "S" : "") + (User is not null ? "A" : "");
        if (!Extended && !SmtpUtf8 && (IsTls || User is not null))
            with = "ESMTP" + with[4..]; // HELO sessions that used TLS/AUTH still report the extension letters
        var sb = new StringBuilder();
        sb.Append("Received: from ").Append(SanitizeHelo(Helo)).Append(" ([").Append(clientAddress).Append("])\r\n");
        if (Tls is not null)
            sb.Append("\t(using ").Append(Tls.Protocol).Append(" with cipher ").Append(Tls.CipherSuite).Append(")\r\n");
        sb.Append("\tby ").Append(options.HostName).Append(" (MailCloud) with ").Append(with).Append(" id ").Append(messageId);
        if (_recipients.Count == 1)
            sb.Append("\r\n\tfor <").Append(_recipients[0].Address).Append('>');
        sb.Append("; ").Append(now.ToString("ddd, dd MMM yyyy HH:mm:ss zzz", System.Globalization.CultureInfo.InvariantCulture).Remove(29, 1)).Append("\r\n");
        return sb.ToString();
    }

    private static string SanitizeHelo(string helo)
    {
        var clean = new string(helo.Where(c => c > 0x20 && c < 0x7f && c is not '(' and not ')' and not '\\').ToArray());
        return clean.Length == 0 ? "unknown" : clean;
    }

    // ---- AUTH (RFC 4954): SASL from MailCloud.Protocols, framed as 334 challenges ----

    private SaslServer? _sasl;

    private async Task<SmtpStep> AuthAsync(string argument, CancellationToken cancellationToken)
    {
        if (!AuthOffered)
            return new SmtpStep(SmtpReply.EncryptionRequired);
        if (User is not null)
            return new SmtpStep(new SmtpReply(503, "5.5.1", "Already authenticated"));
        if (throttle.IsBlocked(clientAddress))
            return new SmtpStep(new SmtpReply(421, "4.7.0", "Too many authentication failures, try again later"), SmtpAction.Close);
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is 0 or > 2)
            return new SmtpStep(new SmtpReply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]"));
        if (!SaslServer.IsSupported(parts[0]))
            return new SmtpStep(new SmtpReply(504, "5.5.4", "Unrecognized authentication mechanism"));
        _sasl = new SaslServer(directory);
        // RFC 4954: "=" is an empty initial response.
        var initial = parts.Length == 2 ? (parts[1] == "=" ? string.Empty : parts[1]) : null;
        return ToStep(await _sasl.StartAsync(parts[0], initial, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The client's answer to a 334 challenge ("*" cancels).</summary>
    public async Task<SmtpStep> HandleAuthResponseAsync(string line, CancellationToken cancellationToken)
    {
        var sasl = _sasl;
        if (sasl is null)
            return new SmtpStep(SmtpReply.BadSequence);
        if (line.Trim() == "*")
        {
            _sasl = null;
            return new SmtpStep(new SmtpReply(501, "5.0.0", "Authentication cancelled"));
        }
        return ToStep(await sasl.ContinueAsync(line, cancellationToken).ConfigureAwait(false));
    }

    private SmtpStep ToStep(SaslStep step)
    {
        if (step.Status != SaslStatus.Challenge)
            _sasl = null;
        switch (step.Status)
        {
            case SaslStatus.Challenge:
                return new SmtpStep(new SmtpReply(334, null, Convert.ToBase64String(Encoding.UTF8.GetBytes(step.Challenge ?? string.Empty))), SmtpAction.AwaitAuthResponse);
            case SaslStatus.Success:
                User = step.User;
                throttle.RecordSuccess(clientAddress);
                return new SmtpStep(SmtpReply.AuthSucceeded);
            case SaslStatus.Malformed:
                return new SmtpStep(new SmtpReply(501, "5.5.2", "Malformed authentication response"));
            case SaslStatus.Unavailable:
                return new SmtpStep(new SmtpReply(454, "4.7.0", "Temporary authentication failure"));
            default:
                return new SmtpStep(SmtpReply.AuthFailed, Delay: throttle.RecordFailure(clientAddress));
        }
    }
}
