using System.Text.RegularExpressions;
using MimeKit;

namespace MailCloud.Webmail;

public sealed record AttachmentInfo(int Index, string FileName, string ContentType, long Size, string? ContentId, bool Inline);

/// <summary>What the pipeline's Authentication-Results and spam headers said, when they are ours.</summary>
public sealed record AuthSummary(string? Dkim, string? DkimDomain, string? Spf, string? Dmarc, string? DmarcDomain, bool Spam, string? SpamScore)
{
    public string? SignedBy => Dkim == "pass" ? DkimDomain : null;
}

/// <summary>A message as the read view shows it: headers, text, HTML (raw — <see cref="HtmlCleaner"/> makes it safe), parts.</summary>
public sealed class RenderedMessage
{
    public required MimeMessage Mime { get; init; }
    public required string Subject { get; init; }
    public required IReadOnlyList<MailboxAddress> From { get; init; }
    public required IReadOnlyList<MailboxAddress> To { get; init; }
    public required IReadOnlyList<MailboxAddress> Cc { get; init; }
    public DateTimeOffset Date { get; init; }
    public string? Text { get; init; }
    public string? Html { get; init; }
    public required IReadOnlyList<AttachmentInfo> Attachments { get; init; }
    public AuthSummary? Auth { get; init; }

    public string? SenderAddress => From.Count > 0 ? From[0].Address?.ToLowerInvariant() : null;
}

public static partial class MessageRenderer
{
    public static RenderedMessage Render(byte[] bytes, string authServId)
    {
        var message = MimeMessage.Load(new MemoryStream(bytes));
        var attachments = new List<AttachmentInfo>();
        int index = 0;
        foreach (var part in message.BodyParts)
        {
            bool isBody = part is TextPart t && !t.IsAttachment && (t.IsPlain || t.IsHtml);
            if (!isBody)
            {
                var type = part.ContentType.MimeType;
                var name = part is MimePart mp ? mp.FileName : part is MessagePart msg ? (msg.Message?.Subject ?? "message") + ".eml" : null;
                attachments.Add(new AttachmentInfo(index, string.IsNullOrWhiteSpace(name) ? $"part-{index + 1}" : name!, type, PartSize(part), part.ContentId,
                    part.ContentDisposition?.Disposition == ContentDisposition.Inline || part.ContentId is not null && part.ContentDisposition is null));
            }
            index++;
        }
        return new RenderedMessage
        {
            Mime = message,
            Subject = string.IsNullOrWhiteSpace(message.Subject) ? "(no subject)" : message.Subject,
            From = message.From.Mailboxes.ToList(),
            To = message.To.Mailboxes.ToList(),
            Cc = message.Cc.Mailboxes.ToList(),
            Date = message.Date,
            Text = message.TextBody,
            Html = message.HtmlBody,
            Attachments = attachments,
            Auth = Summarise(message, authServId),
        };
    }

    /// <summary>The leaf part at <paramref name="index"/> of <see cref="MimeMessage.BodyParts"/>, as attachments are numbered.</summary>
    public static MimeEntity? Part(MimeMessage message, int index) => index < 0 ? null : message.BodyParts.Skip(index).FirstOrDefault();

    /// <summary>The decoded bytes of a part (an attached message as its raw form).</summary>
    public static byte[] Content(MimeEntity part)
    {
        using var output = new MemoryStream();
        if (part is MimePart mp && mp.Content is not null)
            mp.Content.DecodeTo(output);
        else if (part is MessagePart msg && msg.Message is not null)
            msg.Message.WriteTo(FormatOptions.Default, output);
        return output.ToArray();
    }

    private static long PartSize(MimeEntity part)
    {
        if (part is MimePart { Content: not null } mp)
        {
            // Base64 is 4/3 of the decoded size; close enough for a label without decoding every part.
            var encoded = mp.Content.Stream?.Length ?? 0;
            return mp.ContentTransferEncoding == ContentEncoding.Base64 ? encoded * 3 / 4 : encoded;
        }
        return 0;
    }

    /// <summary>
    /// The first Authentication-Results header — the one the pipeline put in front of the message — when its
    /// authserv-id is this server's; one a sender wrote into the message itself says nothing.
    /// </summary>
    public static AuthSummary? Summarise(MimeMessage message, string authServId)
    {
        var results = message.Headers.FirstOrDefault(h => h.Id == HeaderId.AuthenticationResults)?.Value;
        if (results is null)
            return null;
        var id = results.Split(';', 2)[0].Trim();
        if (!id.Equals(authServId, StringComparison.OrdinalIgnoreCase))
            return null;
        string? Method(string name) => Regex.Match(results, $@"\b{name}\s*=\s*([a-z]+)", RegexOptions.IgnoreCase) is { Success: true } m ? m.Groups[1].Value.ToLowerInvariant() : null;
        string? Property(string name) => Regex.Match(results, $@"\b{Regex.Escape(name)}\s*=\s*([^\s;]+)", RegexOptions.IgnoreCase) is { Success: true } m ? m.Groups[1].Value : null;
        var spam = message.Headers["X-Spam-Flag"]?.Trim().Equals("YES", StringComparison.OrdinalIgnoreCase) == true;
        return new AuthSummary(Method("dkim"), Property("header.d"), Method("spf"), Method("dmarc"), Property("header.from"), spam, message.Headers["X-Spam-Score"]?.Trim());
    }
}
