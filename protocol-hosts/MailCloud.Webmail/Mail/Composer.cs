using System.Globalization;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MimeKit;
using MimeKit.Utils;

namespace MailCloud.Webmail;

/// <summary>A message being written, as the compose form carries it.</summary>
public sealed record Composition
{
    public string From { get; init; } = string.Empty;
    public string To { get; init; } = string.Empty;
    public string Cc { get; init; } = string.Empty;
    public string Bcc { get; init; } = string.Empty;
    public string Subject { get; init; } = string.Empty;
    public string Text { get; init; } = string.Empty;

    /// <summary>The simple editor's HTML (sanitized before it goes into the message); null for plain text.</summary>
    public string? Html { get; init; }

    public IReadOnlyList<string> Uploads { get; init; } = [];
    public string? InReplyTo { get; init; }
    public string? References { get; init; }

    /// <summary>A stored message whose attachments this one carries (forward inline, a reopened draft).</summary>
    public string? SourceFolder { get; init; }
    public long? SourceUid { get; init; }
    public IReadOnlyList<int> SourceParts { get; init; } = [];

    /// <summary>A stored message attached whole as message/rfc822 (forward as attachment).</summary>
    public string? AttachFolder { get; init; }
    public long? AttachUid { get; init; }

    /// <summary>The message replied to or forwarded (\Answered or $Forwarded is set on it once sent).</summary>
    public string? OriginalFolder { get; init; }
    public long? OriginalUid { get; init; }
    public bool IsForward { get; init; }

    /// <summary>The draft this composition replaces when it is saved again or sent.</summary>
    public long? DraftUid { get; init; }
}

/// <summary>A composition the webmail refuses (bad address, not the user's sender address, too large), with the reason.</summary>
public sealed class CompositionException(string message) : Exception(message);

/// <summary>
/// Builds messages with MimeKit and sends them the way authenticated SMTP submission does: the same sender rule
/// (the user's own address or an alias of theirs), the same size limit, into the same spool and inbound queue
/// (so the pipeline signs with DKIM, delivers locally or remotely, retries and bounces). The copy in Sent, drafts
/// in Drafts: the bytes stored are what IMAP then serves.
/// </summary>
public sealed class Composer(WebmailServices services)
{
    private WebmailOptions Options => services.Options;

    public sealed record Sent(string MessageId, string QueueId, int Recipients, bool SentCopy);

    public async Task<Sent> SendAsync(UserInfo user, Composition c, string clientAddress, bool tls, CancellationToken ct)
    {
        var from = await SenderAsync(user, c, ct).ConfigureAwait(false);
        var to = Parse(c.To, "To");
        var cc = Parse(c.Cc, "Cc");
        var bcc = Parse(c.Bcc, "Bcc");
        var recipients = to.Concat(cc).Concat(bcc).DistinctBy(m => m.Address.ToLowerInvariant()).ToList();
        if (recipients.Count == 0)
            throw new CompositionException("Add at least one recipient.");
        if (recipients.Count > Options.MaxRecipients)
            throw new CompositionException($"At most {Options.MaxRecipients} recipients per message.");
        var message = await BuildAsync(user.Address, c, from, to, cc, [], ct).ConfigureAwait(false);
        var wire = Bytes(message);
        if (wire.Length > Options.MaxMessageSize)
            throw new CompositionException($"The message is {ByteSize.Format(wire.Length)}, more than the limit of {ByteSize.Format(Options.MaxMessageSize)}.");

        var now = DateTimeOffset.UtcNow;
        var queueId = MessageIds.New(now);
        var envelope = new Envelope
        {
            Sender = from.Address,
            Recipients = recipients.Select(r => new EnvelopeRecipient(r.Address)).ToList(),
            AuthenticatedUser = user.Address.Address,
            ClientAddress = clientAddress,
            Helo = "webmail",
            Tls = tls ? new TlsInfo("HTTPS", "as negotiated by the web front end") : null,
            Listener = "submission",
            ReceivedAt = now,
            SmtpUtf8 = recipients.Append(from).Any(r => r.Address.Any(ch => ch > 127)),
        };
        var received = $"Received: from webmail ([{clientAddress}])\r\n\tby {Options.HostName} (MailCloud webmail) with {(tls ? "HTTPSA" : "HTTPA")} id {queueId}; {now.ToString("ddd, dd MMM yyyy HH:mm:ss zzz", CultureInfo.InvariantCulture).Remove(29, 1)}\r\n";
        await using (var content = new MemoryStream([.. Encoding.ASCII.GetBytes(received), .. wire]))
            await services.Spool.StoreAsync(queueId, envelope, content, ct).ConfigureAwait(false);

        // Accepted: from here on failures cost the Sent copy or a flag, never the message.
        bool sentCopy = false;
        try
        {
            var copy = bcc.Count > 0 ? Bytes(await BuildAsync(user.Address, c, from, to, cc, bcc, ct, message).ConfigureAwait(false)) : wire;
            sentCopy = await AppendAsync(user, "Sent", copy, @"\Seen", ct).ConfigureAwait(false) is not null;
            if (c.OriginalFolder is { } folder && c.OriginalUid is { } uid)
            {
                var flag = c.IsForward ? "$Forwarded" : @"\Answered";
                await services.Store.UpdateFlagsAsync(user.Address, folder, [uid], FlagEdit.Add(flag), cancellationToken: ct).ConfigureAwait(false);
                services.Changes.Publish(user.Address, folder);
            }
            if (c.DraftUid is { } draft)
            {
                await services.Store.ExpungeAsync(user.Address, "Drafts", [new MailboxMessage(draft, 0, string.Empty, string.Empty, string.Empty)], ct).ConfigureAwait(false);
                services.Changes.Publish(user.Address, "Drafts");
            }
            foreach (var id in c.Uploads)
                await services.Uploads.DeleteAsync(user.Address, id, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (Storage.StorageErrors.IsStorageFailure(e))
        {
            // The message is queued; the extras are not worth failing the send for.
        }
        return new Sent(message.MessageId ?? string.Empty, queueId, recipients.Count, sentCopy);
    }

    /// <summary>Stores the composition in Drafts (replacing its previous version); returns the new UID.</summary>
    public async Task<long> SaveDraftAsync(UserInfo user, Composition c, CancellationToken ct)
    {
        var from = MailboxAddress.TryParse(c.From, out var parsed) ? parsed : new MailboxAddress(null, user.Address.Address);
        var message = await BuildAsync(user.Address, c, from, Lenient(c.To), Lenient(c.Cc), Lenient(c.Bcc), ct).ConfigureAwait(false);
        var bytes = Bytes(message);
        if (bytes.Length > Options.MaxMessageSize)
            throw new CompositionException($"The draft is larger than the limit of {ByteSize.Format(Options.MaxMessageSize)}.");
        var uid = await AppendAsync(user, "Drafts", bytes, @"\Draft \Seen", ct).ConfigureAwait(false)
            ?? throw new CompositionException("The mailbox is full; the draft was not saved.");
        if (c.DraftUid is { } old && old != uid)
            await services.Store.ExpungeAsync(user.Address, "Drafts", [new MailboxMessage(old, 0, string.Empty, string.Empty, string.Empty)], ct).ConfigureAwait(false);
        services.Changes.Publish(user.Address, "Drafts");
        return uid;
    }

    /// <summary>Adds stored bytes to a folder as IMAP APPEND does; null when the quota has no room.</summary>
    private async Task<long?> AppendAsync(UserInfo user, string folder, byte[] bytes, string flags, CancellationToken ct)
    {
        if (user.QuotaBytes is { } quota && (await services.Store.GetUsageAsync(user.Address, ct).ConfigureAwait(false)).UsedBytes + bytes.Length > quota)
            return null;
        var now = DateTimeOffset.UtcNow;
        var id = MessageIds.New(now);
        var blob = MessageIds.BlobPath(id, now);
        await services.Content.WriteAsync(blob, bytes, ct).ConfigureAwait(false);
        var summary = Mime.MessageSummary.Of(Mime.MimeParser.Parse(bytes, new Mime.MimeParserOptions { KeepRootHeaderUpTo = Mime.MessageSummary.MaxStoredHeader }));
        var entry = MailboxWriter.Entry(id, blob, bytes.Length, now, flags, summary);
        var added = await services.Store.AddAsync(user.Address, folder, [entry], createFolder: true, ct).ConfigureAwait(false);
        services.Changes.Publish(user.Address, folder);
        return added[0].Uid;
    }

    private async Task<MailboxAddress> SenderAsync(UserInfo user, Composition c, CancellationToken ct)
    {
        var text = string.IsNullOrWhiteSpace(c.From) ? user.Address.Address : c.From;
        if (!MailboxAddress.TryParse(text, out var from) || !MailAddress.TryParse(from.Address, out var address))
            throw new CompositionException($"The sender {text} is not an address.");
        if (!await services.Directory.OwnsAsync(user, address, ct).ConfigureAwait(false))
            throw new CompositionException($"You cannot send as {address}: it is not your address or one of your aliases.");
        return from;
    }

    private static List<MailboxAddress> Parse(string text, string field)
    {
        if (string.IsNullOrWhiteSpace(text))
            return [];
        if (!InternetAddressList.TryParse(text.Replace(';', ','), out var list))
            throw new CompositionException($"{field}: “{text}” is not a list of addresses.");
        var result = list.Mailboxes.ToList();
        foreach (var m in result)
        {
            if (!MailAddress.TryParse(m.Address, out _))
                throw new CompositionException($"{field}: {m.Address} is not an address.");
        }
        return result;
    }

    /// <summary>Drafts keep what parses: half-written addresses are no reason to lose the draft.</summary>
    private static List<MailboxAddress> Lenient(string text) =>
        InternetAddressList.TryParse(text.Replace(';', ','), out var list) ? list.Mailboxes.ToList() : [];

    private async Task<MimeMessage> BuildAsync(MailAddress user, Composition c, MailboxAddress from, List<MailboxAddress> to, List<MailboxAddress> cc, List<MailboxAddress> bcc,
        CancellationToken ct, MimeMessage? sameAs = null)
    {
        var message = new MimeMessage();
        message.From.Add(from);
        message.To.AddRange(to);
        message.Cc.AddRange(cc);
        message.Bcc.AddRange(bcc);
        message.Subject = c.Subject.Trim();
        message.Date = sameAs?.Date ?? DateTimeOffset.Now;
        message.MessageId = sameAs?.MessageId ?? MimeUtils.GenerateMessageId(Options.HostName);
        if (!string.IsNullOrWhiteSpace(c.InReplyTo))
            message.InReplyTo = c.InReplyTo.Trim();
        if (!string.IsNullOrWhiteSpace(c.References))
        {
            foreach (var id in MimeUtils.EnumerateReferences(c.References))
                message.References.Add(id);
        }
        message.Headers.Add("User-Agent", "MailCloud webmail");

        var body = new BodyBuilder { TextBody = c.Text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal) };
        if (!string.IsNullOrWhiteSpace(c.Html))
            body.HtmlBody = ComposeHtml.Clean(c.Html);
        foreach (var id in c.Uploads)
        {
            var upload = await services.Uploads.ReadAsync(user, id, ct).ConfigureAwait(false) ?? throw new CompositionException("An attachment upload has expired; attach the file again.");
            body.Attachments.Add(upload.Info.FileName, upload.Content, ContentType.TryParse(upload.Info.ContentType, out var type) ? type : new ContentType("application", "octet-stream"));
        }
        if (c.SourceFolder is { } sf && c.SourceUid is { } su && c.SourceParts.Count > 0)
        {
            var source = await LoadAsync(user, sf, su, ct).ConfigureAwait(false);
            foreach (var index in c.SourceParts.Distinct())
            {
                if (MessageRenderer.Part(source, index) is { } part)
                    body.Attachments.Add(part);
            }
        }
        if (c.AttachFolder is { } af && c.AttachUid is { } au)
        {
            var original = await LoadAsync(user, af, au, ct).ConfigureAwait(false);
            body.Attachments.Add(new MessagePart { Message = original, ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = SafeName(original.Subject) + ".eml" } });
        }
        message.Body = body.ToMessageBody();
        message.Prepare(EncodingConstraint.SevenBit);
        return message;
    }

    private static string SafeName(string? subject)
    {
        var name = new string((subject ?? "message").Where(ch => !char.IsControl(ch) && ch is not '/' and not '\\' and not '"').Take(60).ToArray()).Trim();
        return name.Length == 0 ? "message" : name;
    }

    public async Task<MimeMessage> LoadAsync(MailAddress user, string folder, long uid, CancellationToken ct)
    {
        var row = await services.Store.GetMessageAsync(user, folder, uid, MessageDetail.Content, ct).ConfigureAwait(false)
            ?? throw new CompositionException("The original message is gone.");
        var bytes = await services.Content.ReadAllAsync(row.Blob, row.Prefix, ct).ConfigureAwait(false);
        return MimeMessage.Load(new MemoryStream(bytes), ct);
    }

    public static byte[] Bytes(MimeMessage message)
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var output = new MemoryStream();
        message.WriteTo(options, output);
        return output.ToArray();
    }
}

/// <summary>The composer's own HTML is sanitized too: pasted content can carry anything.</summary>
public static class ComposeHtml
{
    public static string Clean(string html)
    {
        var sanitizer = new Ganss.Xss.HtmlSanitizer();
        sanitizer.AllowedSchemes.Add("mailto");
        return "<!doctype html><html><head><meta charset=\"utf-8\"></head><body>" + sanitizer.Sanitize(html) + "</body></html>";
    }
}
