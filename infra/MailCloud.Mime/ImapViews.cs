using System.Text;

namespace MailCloud.Mime;

/// <summary>
/// A section of a message for IMAP BODY[...]: a byte range of the raw message; for HEADER.FIELDS[.NOT] the range is
/// the header block and <see cref="Fields"/> says which of its fields the section keeps.
/// </summary>
public sealed record ImapSection(long Offset, long Length, IReadOnlySet<string>? Fields = null, bool FieldsNot = false)
{
    /// <summary>The section's bytes, given the bytes of its range.</summary>
    public byte[] Extract(ReadOnlySpan<byte> range) =>
        Fields is null ? range.ToArray() : ImapViews.FilterHeaderFields(range, Fields, FieldsNot);
}

/// <summary>
/// IMAP's views of a parsed message (RFC 3501 7.4.2, RFC 9051): ENVELOPE, BODYSTRUCTURE (with extension data),
/// BODY, and section addressing. Kept here so the indexer can store them and the IMAP host can answer with them.
/// </summary>
public static class ImapViews
{
    public static string Envelope(MimeEntity message)
    {
        var sb = new StringBuilder("(");
        NString(sb, message.GetHeader("Date")?.Value);
        sb.Append(' ');
        NString(sb, message.GetHeader("Subject")?.Value);
        // Every From/To/Cc/Bcc header counts (broken mail repeats them); an absent or empty Sender or Reply-To is the From.
        var from = Addresses(message, "From");
        sb.Append(' ');
        AddressList(sb, from);
        sb.Append(' ');
        AddressList(sb, Addresses(message, "Sender") is { Count: > 0 } sender ? sender : from);
        sb.Append(' ');
        AddressList(sb, Addresses(message, "Reply-To") is { Count: > 0 } replyTo ? replyTo : from);
        foreach (var name in new[] { "To", "Cc", "Bcc" })
        {
            sb.Append(' ');
            AddressList(sb, Addresses(message, name));
        }
        sb.Append(' ');
        NString(sb, message.GetHeader("In-Reply-To")?.Value);
        sb.Append(' ');
        NString(sb, message.GetHeader("Message-ID")?.Value);
        return sb.Append(')').ToString();
    }

    public static string BodyStructure(MimeEntity entity) => Body(entity, extended: true);

    /// <summary>The non-extensible BODY form.</summary>
    public static string Body(MimeEntity entity) => Body(entity, extended: false);

    private static string Body(MimeEntity entity, bool extended)
    {
        var sb = new StringBuilder();
        WriteBody(sb, entity, extended);
        return sb.ToString();
    }

    private static void WriteBody(StringBuilder sb, MimeEntity e, bool extended)
    {
        sb.Append('(');
        // RFC 3501's grammar has no multipart without parts: one whose boundary never occurs is shown holding one empty
        // text/plain part, as Dovecot 2.3 shows it (checked side by side).
        if (e.Children.Count > 0 || e.MediaType == "multipart")
        {
            if (e.Children.Count == 0)
                WritePlainPart(sb, 0, 0, extended);
            foreach (var child in e.Children)
                WriteBody(sb, child, extended);
            sb.Append(' ');
            QuotedUpper(sb, e.MediaSubtype);
            if (extended)
            {
                sb.Append(' ');
                Parameters(sb, e.ContentType.RawParameters);
                sb.Append(' ');
                Disposition(sb, e);
                sb.Append(' ');
                Language(sb, e);
                sb.Append(' ');
                NString(sb, e.GetHeader("Content-Location")?.Value);
            }
            sb.Append(')');
            return;
        }
        QuotedUpper(sb, e.MediaType);
        sb.Append(' ');
        QuotedUpper(sb, e.MediaSubtype);
        sb.Append(' ');
        var parameters = e.ContentType.RawParameters;
        if (e.MediaType == "text" && e.ContentType["charset"] is null)
            parameters = [.. parameters, new("charset", "us-ascii")];
        Parameters(sb, parameters);
        sb.Append(' ');
        NString(sb, e.GetHeader("Content-ID")?.Value);
        sb.Append(' ');
        NString(sb, e.GetHeader("Content-Description")?.Value);
        sb.Append(' ');
        QuotedUpper(sb, e.TransferEncoding);
        sb.Append(' ').Append(e.BodyLength);
        if (e.Message is not null)
        {
            sb.Append(' ').Append(Envelope(e.Message)).Append(' ');
            WriteBody(sb, e.Message, extended);
            sb.Append(' ').Append(e.BodyLines);
        }
        else if (e.MediaType == "text")
        {
            sb.Append(' ').Append(e.BodyLines);
        }
        if (extended)
        {
            sb.Append(' ');
            NString(sb, e.GetHeader("Content-MD5")?.Value);
            sb.Append(' ');
            Disposition(sb, e);
            sb.Append(' ');
            Language(sb, e);
            sb.Append(' ');
            NString(sb, e.GetHeader("Content-Location")?.Value);
        }
        sb.Append(')');
    }

    private static void WritePlainPart(StringBuilder sb, long size, long lines, bool extended) =>
        sb.Append("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" ").Append(size).Append(' ').Append(lines)
          .Append(extended ? " NIL NIL NIL NIL)" : ")");

    private static void Disposition(StringBuilder sb, MimeEntity e)
    {
        if (e.ContentDisposition is not { } d)
        {
            sb.Append("NIL");
            return;
        }
        sb.Append('(');
        QuotedUpper(sb, d.Value);
        sb.Append(' ');
        Parameters(sb, d.RawParameters);
        sb.Append(')');
    }

    private static void Language(StringBuilder sb, MimeEntity e)
    {
        var langs = e.GetHeader("Content-Language")?.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (langs is null || langs.Length == 0)
            sb.Append("NIL");
        else if (langs.Length == 1)
            NString(sb, langs[0]);
        else
        {
            sb.Append('(');
            for (int i = 0; i < langs.Length; i++)
            {
                if (i > 0)
                    sb.Append(' ');
                NString(sb, langs[i]);
            }
            sb.Append(')');
        }
    }

    private static void Parameters(StringBuilder sb, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        if (parameters.Count == 0)
        {
            sb.Append("NIL");
            return;
        }
        sb.Append('(');
        for (int i = 0; i < parameters.Count; i++)
        {
            if (i > 0)
                sb.Append(' ');
            QuotedUpper(sb, parameters[i].Key);
            sb.Append(' ');
            NString(sb, parameters[i].Value);
        }
        sb.Append(')');
    }

    private static List<InternetAddress> Addresses(MimeEntity message, string header) =>
        message.GetHeaders(header).SelectMany(h => AddressParser.ParseList(h.Value, decodeNames: false)).ToList();

    private static void AddressList(StringBuilder sb, List<InternetAddress> list)
    {
        if (list.Count == 0)
        {
            sb.Append("NIL");
            return;
        }
        sb.Append('(');
        foreach (var a in list)
        {
            if (a is GroupAddress g)
            {
                sb.Append("(NIL NIL ");
                NString(sb, g.Name ?? string.Empty);
                sb.Append(" NIL)");
                foreach (var m in g.Members)
                    Address(sb, m);
                sb.Append("(NIL NIL NIL NIL)");
            }
            else
                Address(sb, (MailboxAddress)a);
        }
        sb.Append(')');
    }

    private static void Address(StringBuilder sb, MailboxAddress m)
    {
        sb.Append('(');
        NString(sb, m.Name);
        sb.Append(' ');
        NString(sb, m.Route);
        sb.Append(' ');
        NString(sb, m.LocalPart);
        sb.Append(' ');
        // A NIL host means group syntax in ENVELOPE, so an address without a domain gets a placeholder (as Dovecot's).
        NString(sb, m.Domain.Length == 0 ? "MISSING_DOMAIN" : m.Domain);
        sb.Append(')');
    }

    private static void QuotedUpper(StringBuilder sb, string value) => NString(sb, value.ToUpperInvariant());

    /// <summary>IMAP nstring: NIL, a quoted string, or a literal when quoting cannot carry the text.</summary>
    public static void NString(StringBuilder sb, string? value)
    {
        if (value is null)
        {
            sb.Append("NIL");
            return;
        }
        if (value.Any(c => c is '\r' or '\n' or '\0' || c > 0x7e))
        {
            var bytes = Encoding.UTF8.GetByteCount(value);
            sb.Append('{').Append(bytes).Append("}\r\n").Append(value);
            return;
        }
        sb.Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
                sb.Append('\\');
            sb.Append(c);
        }
        sb.Append('"');
    }

    /// <summary>
    /// Resolves a section spec ("", "HEADER", "TEXT", "1.2", "1.2.MIME", "2.HEADER", "HEADER.FIELDS (From To)",
    /// "1.HEADER.FIELDS.NOT (Received)") to a byte range of the raw message, over a parsed message or a stored
    /// <see cref="PartMap"/> alike. Null when the part does not exist.
    /// </summary>
    public static ImapSection? Resolve(IMimePart root, string section)
    {
        section = section.Trim();
        if (section.Length == 0)
            return new ImapSection(root.HeaderStart, root.End - root.HeaderStart);
        var entity = root;          // the part the path leads to
        var message = root;         // the message whose HEADER/TEXT a text spec refers to
        int i = 0;
        bool numbered = false;
        while (i < section.Length && char.IsAsciiDigit(section[i]))
        {
            int dot = section.IndexOf('.', i);
            var numText = dot < 0 ? section[i..] : section[i..dot];
            if (!int.TryParse(numText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)
                return null;
            // Into an enclosed message, its parts are numbered from its body.
            var container = numbered && entity.Enclosed is not null ? entity.Enclosed : entity;
            if (container.Parts.Count > 0)
            {
                if (n > container.Parts.Count)
                    return null;
                entity = container.Parts[n - 1];
            }
            else if (n == 1)
            {
                entity = container; // a non-multipart's only part is its body
            }
            else
                return null;
            numbered = true;
            i = dot < 0 ? section.Length : dot + 1;
        }
        var rest = section[i..].ToUpperInvariant();
        if (numbered)
        {
            if (rest.Length == 0)
                return new ImapSection(entity.BodyStart, entity.End - entity.BodyStart);
            if (rest == "MIME")
                return new ImapSection(entity.HeaderStart, entity.BodyStart - entity.HeaderStart);
            message = entity.Enclosed ?? (entity == root ? root : null)!;
            if (message is null)
                return null; // HEADER/TEXT only apply to message/rfc822 parts
        }
        var header = new ImapSection(message.HeaderStart, message.BodyStart - message.HeaderStart);
        if (rest == "HEADER")
            return header;
        if (rest == "TEXT")
            return new ImapSection(message.BodyStart, message.End - message.BodyStart);
        if (rest.StartsWith("HEADER.FIELDS", StringComparison.Ordinal))
        {
            bool not = rest.StartsWith("HEADER.FIELDS.NOT", StringComparison.Ordinal);
            int open = rest.IndexOf('(', StringComparison.Ordinal);
            int close = rest.LastIndexOf(')');
            if (open < 0 || close < open)
                return null;
            var names = rest[(open + 1)..close].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(n => n.Trim('"')).ToHashSet(StringComparer.OrdinalIgnoreCase);
            return header with { Fields = names, FieldsNot = not };
        }
        return null;
    }

    /// <summary>
    /// The header fields of a raw header block whose names are (or, with <paramref name="not"/>, are not) in
    /// <paramref name="names"/>, verbatim with their folding, followed by the blank line (RFC 3501 HEADER.FIELDS).
    /// </summary>
    public static byte[] FilterHeaderFields(ReadOnlySpan<byte> header, IReadOnlySet<string> names, bool not)
    {
        var output = new MemoryStream();
        bool keep = false;
        while (!header.IsEmpty)
        {
            int nl = header.IndexOf((byte)'\n');
            var line = nl < 0 ? header : header[..(nl + 1)];
            header = nl < 0 ? [] : header[(nl + 1)..];
            var content = line.TrimEnd("\r\n"u8);
            if (content.IsEmpty)
                break; // the blank line that ends the header
            if (content[0] is not ((byte)' ' or (byte)'\t'))
            {
                int colon = content.IndexOf((byte)':');
                keep = colon > 0 && names.Contains(Encoding.Latin1.GetString(content[..colon]).TrimEnd()) != not;
            }
            if (keep)
            {
                output.Write(content);
                output.Write("\r\n"u8);
            }
        }
        output.Write("\r\n"u8);
        return output.ToArray();
    }
}
