namespace MailCloud.Mime;

/// <summary>One header field as it was in the message: name, raw value bytes (folding kept) and where it stood.</summary>
public sealed class Header(string name, byte[] rawValue, long offset, int length)
{
    private string? _unfolded;

    public string Name { get; } = name;

    /// <summary>The bytes after the colon, folding and all, without the final line break.</summary>
    public byte[] RawValue { get; } = rawValue;

    /// <summary>Offset of the header's first byte in the source and its length including its line break(s).</summary>
    public long Offset { get; } = offset;
    public int Length { get; } = length;

    /// <summary>Unfolded value (CRLF + WSP removed), 8-bit bytes read as UTF-8 when valid (RFC 6532), else Latin-1.</summary>
    public string Value => _unfolded ??= Unfold(Charsets.DecodeUnlabelled(RawValue)).Trim();

    /// <summary>The value with RFC 2047 encoded words decoded (for unstructured fields such as Subject).</summary>
    public string DecodedValue => EncodedWords.Decode(Value);

    internal static string Unfold(string s) => s.Contains('\n', StringComparison.Ordinal) ? s.Replace("\r\n", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal) : s;

    public override string ToString() => $"{Name}: {Value}";
}

/// <summary>
/// A parsed MIME entity: headers, parsed content headers, children, and the byte offsets that let IMAP serve
/// any section straight from the stored raw message (header start, body start, end, body line count).
/// </summary>
public sealed class MimeEntity : IMimePart
{
    IReadOnlyList<IMimePart> IMimePart.Parts => Children;
    IMimePart? IMimePart.Enclosed => Message;

    internal MimeEntity() { }

    public List<Header> Headers { get; } = [];

    /// <summary>The raw header block of a top-level message, when the parser was asked to keep it.</summary>
    public byte[]? RawHeader { get; internal set; }

    public long HeaderStart { get; internal set; }
    public long BodyStart { get; internal set; }
    public long End { get; internal set; }

    /// <summary>Number of lines in the body (what IMAP reports for text and message/rfc822 parts).</summary>
    public long BodyLines { get; internal set; }

    public long HeaderLength => BodyStart - HeaderStart;
    public long BodyLength => End - BodyStart;

    /// <summary>Content-Type; "text/plain; charset=us-ascii" when absent (RFC 2045 5.2), message/rfc822 inside multipart/digest.</summary>
    public HeaderParameters ContentType { get; internal set; } = new("text/plain", [new("charset", "us-ascii")]);
    public string MediaType => ContentType.Value.Split('/')[0];
    public string MediaSubtype => ContentType.Value.Contains('/', StringComparison.Ordinal) ? ContentType.Value.Split('/', 2)[1] : string.Empty;

    public HeaderParameters? ContentDisposition => GetHeader("Content-Disposition") is { } h ? HeaderParameters.Parse(h.Value, "attachment") : null;
    public string TransferEncoding => (GetHeader("Content-Transfer-Encoding")?.Value ?? "7bit").Trim().ToLowerInvariant();
    public string? Charset => ContentType["charset"];

    public bool IsMultipart => Children.Count > 0 || (MediaType == "multipart" && ContentType["boundary"] is not null);

    /// <summary>The parts of a multipart, in order.</summary>
    public List<MimeEntity> Children { get; } = [];

    /// <summary>For message/rfc822 (and message/global): the enclosed message.</summary>
    public MimeEntity? Message { get; internal set; }

    public Header? GetHeader(string name) => Headers.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));
    public IEnumerable<Header> GetHeaders(string name) => Headers.Where(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));

    public string? Subject => GetHeader("Subject")?.DecodedValue;
    public string? MessageId => GetHeader("Message-ID")?.Value;
    public DateTimeOffset? Date => DateParser.TryParse(GetHeader("Date")?.Value, out var d) ? d : null;
    public IReadOnlyList<InternetAddress> From => AddressParser.ParseList(GetHeader("From")?.Value);
    public IReadOnlyList<InternetAddress> To => AddressParser.ParseList(GetHeader("To")?.Value);
    public IReadOnlyList<InternetAddress> Cc => AddressParser.ParseList(GetHeader("Cc")?.Value);

    /// <summary>Attachments' file name: Content-Disposition filename, else Content-Type name.</summary>
    public string? FileName => ContentDisposition?["filename"] ?? ContentType["name"];

    /// <summary>This entity and every descendant, depth first (children and enclosed messages).</summary>
    public IEnumerable<MimeEntity> Walk()
    {
        yield return this;
        foreach (var child in Children)
        {
            foreach (var e in child.Walk())
                yield return e;
        }
        if (Message is not null)
        {
            foreach (var e in Message.Walk())
                yield return e;
        }
    }

    /// <summary>The raw (still transfer-encoded) body bytes from the source the entity was parsed from.</summary>
    public ReadOnlySpan<byte> RawBody(ReadOnlySpan<byte> source) => source.Slice((int)BodyStart, (int)BodyLength);

    /// <summary>The body with its Content-Transfer-Encoding undone.</summary>
    public byte[] DecodeBody(ReadOnlySpan<byte> source) => Mime.TransferEncoding.Decode(RawBody(source), TransferEncoding);

    /// <summary>A text part's content as a string (transfer encoding and charset undone).</summary>
    public string GetText(ReadOnlySpan<byte> source) => Charsets.Decode(DecodeBody(source), Charset);
}
