using System.Text.RegularExpressions;
using MimeKit;

namespace MailCloud.Webmail;

/// <summary>What the list needs from a stored root header block (Content-Type, the thread ids).</summary>
public sealed record HeaderBlock(string? ContentType, string? MessageId, string? InReplyTo, IReadOnlyList<string> References)
{
    private static readonly HeaderBlock Empty = new(null, null, null, []);

    /// <summary>multipart/mixed at the root: what most clients mark with a paper clip.</summary>
    public bool HasAttachments => ContentType is { } t && (t.StartsWith("multipart/mixed", StringComparison.OrdinalIgnoreCase) || t.StartsWith("multipart/report", StringComparison.OrdinalIgnoreCase));

    public static HeaderBlock Parse(byte[]? header)
    {
        if (header is not { Length: > 0 })
            return Empty;
        try
        {
            using var stream = new MemoryStream(header);
            var headers = HeaderList.Load(stream);
            var references = headers[HeaderId.References] is { } r ? MimeKit.Utils.MimeUtils.EnumerateReferences(r).ToList() : [];
            var inReplyTo = headers[HeaderId.InReplyTo] is { } i ? MimeKit.Utils.MimeUtils.EnumerateReferences(i).FirstOrDefault() : null;
            var messageId = headers[HeaderId.MessageId] is { } m ? MimeKit.Utils.MimeUtils.EnumerateReferences(m).FirstOrDefault() : null;
            return new HeaderBlock(headers[HeaderId.ContentType]?.Trim(), messageId, inReplyTo, references);
        }
        catch (FormatException)
        {
            return Empty;
        }
    }
}

/// <summary>Conversations: by the first Message-ID of References (the thread's root), else In-Reply-To, else the message's own id.</summary>
public static partial class Threads
{
    public static string Key(HeaderBlock h, string? subject) =>
        h.References.Count > 0 ? "id:" + h.References[0]
        : h.InReplyTo is { } parent ? "id:" + parent
        : h.MessageId is { } own ? "id:" + own
        : "subject:" + BaseSubject(subject);

    /// <summary>The subject without reply and forward prefixes (RFC 5256's base subject, simplified).</summary>
    public static string BaseSubject(string? subject) => Prefix().Replace(subject ?? string.Empty, string.Empty).Trim();

    [GeneratedRegex(@"^(\s*(re|fw|fwd|aw|wg|sv|vs)(\[\d+\])?\s*:\s*)+", RegexOptions.IgnoreCase)]
    private static partial Regex Prefix();
}

public static class Addresses
{
    /// <summary>Names (or addresses) of a raw address header, decoded: "Alice, bob@example.test".</summary>
    public static string Display(string? header)
    {
        if (string.IsNullOrWhiteSpace(header))
            return string.Empty;
        if (!InternetAddressList.TryParse(header, out var list))
            return header.Trim();
        return string.Join(", ", list.Mailboxes.Select(m => string.IsNullOrWhiteSpace(m.Name) ? m.Address : m.Name));
    }
}

public static partial class MessageText
{
    /// <summary>The readable text of a message (its text parts; HTML parts with the tags removed), for body search.</summary>
    public static string Of(byte[] bytes)
    {
        try
        {
            var message = MimeMessage.Load(new MemoryStream(bytes));
            var parts = message.BodyParts.OfType<TextPart>().Where(p => !p.IsAttachment)
                .Select(p => p.IsHtml ? Tags().Replace(p.Text, " ") : p.Text);
            return string.Join('\n', parts);
        }
        catch (FormatException)
        {
            return string.Empty;
        }
    }

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex Tags();
}
