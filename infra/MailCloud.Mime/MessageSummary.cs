namespace MailCloud.Mime;

/// <summary>
/// The parse of a message that every mailbox entry stores: IMAP views, part offsets and search fields, so IMAP
/// answers ENVELOPE/BODYSTRUCTURE and serves sections by byte range without parsing the message again.
/// </summary>
public sealed record MessageSummary
{
    public required string Envelope { get; init; }
    public required string BodyStructure { get; init; }
    public required string Body { get; init; }

    /// <summary>Offsets of every part (see <see cref="PartMap"/>).</summary>
    public required string Parts { get; init; }

    public string? Subject { get; init; }
    public string? From { get; init; }
    public string? To { get; init; }
    public string? Cc { get; init; }
    public DateTimeOffset? Date { get; init; }
    public string? MessageIdHeader { get; init; }
    public int ReceivedCount { get; init; }

    /// <summary>The raw header block (when the parse kept it): header fetches and searches need no blob read.</summary>
    public byte[]? Header { get; init; }

    /// <summary>How much header the index keeps in a row (a work item on a queue must stay under 64 KB).</summary>
    public const int MaxStoredHeader = 16 * 1024;

    /// <summary>
    /// The summary of this message with <paramref name="prefix"/> (complete header lines) in front: the header block
    /// starts with them and every part offset moves by their length. ENVELOPE and BODYSTRUCTURE do not change (the
    /// root header's size is in neither).
    /// </summary>
    public MessageSummary WithPrefix(byte[] prefix) => prefix.Length == 0 ? this : this with
    {
        Parts = PartMap.Shift(Parts, prefix.Length),
        Header = Header is null ? null : [.. prefix, .. Header],
    };

    public static MessageSummary Of(MimeEntity message) => new()
    {
        Envelope = ImapViews.Envelope(message),
        BodyStructure = ImapViews.BodyStructure(message),
        Body = ImapViews.Body(message),
        Parts = PartMap.Serialize(message),
        Subject = message.Subject,
        From = message.GetHeader("From")?.Value,
        To = message.GetHeader("To")?.Value,
        Cc = message.GetHeader("Cc")?.Value,
        Date = message.Date,
        MessageIdHeader = message.MessageId,
        ReceivedCount = message.GetHeaders("Received").Count(),
        Header = message.RawHeader,
    };
}
