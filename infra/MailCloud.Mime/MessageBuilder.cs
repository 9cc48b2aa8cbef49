using System.Text;

namespace MailCloud.Mime;

/// <summary>A body part for the builder.</summary>
public abstract class MimePart
{
    /// <summary>Extra headers of this part (Content-ID, Content-Description, ...), written as given after encoding.</summary>
    public List<KeyValuePair<string, string>> Headers { get; } = [];

    internal abstract void Write(StringBuilder sb, Func<string> newBoundary);

    internal void WriteExtraHeaders(StringBuilder sb)
    {
        foreach (var (name, value) in Headers)
            sb.Append(HeaderFolding.Format(name, value));
    }
}

/// <summary>Text, sent as 7bit when it can be, else quoted-printable (mostly ASCII) or base64, always UTF-8.</summary>
public sealed class TextPart(string text, string subtype = "plain") : MimePart
{
    internal override void Write(StringBuilder sb, Func<string> newBoundary)
    {
        var normalized = text.ReplaceLineEndings("\r\n");
        bool ascii = normalized.All(c => c < 0x80);
        bool shortLines = normalized.Split("\r\n").All(l => l.Length <= 998);
        sb.Append("Content-Type: text/").Append(subtype).Append(ascii ? "; charset=us-ascii" : "; charset=utf-8").Append("\r\n");
        WriteExtraHeaders(sb);
        var bytes = Encoding.UTF8.GetBytes(normalized);
        if (ascii && shortLines)
        {
            sb.Append("Content-Transfer-Encoding: 7bit\r\n\r\n").Append(normalized);
            if (!normalized.EndsWith("\r\n", StringComparison.Ordinal))
                sb.Append("\r\n");
            return;
        }
        int nonAscii = bytes.Count(b => b >= 0x80);
        if (nonAscii * 3 < bytes.Length)
            sb.Append("Content-Transfer-Encoding: quoted-printable\r\n\r\n").Append(TransferEncoding.EncodeQuotedPrintable(bytes)).Append("\r\n");
        else
            sb.Append("Content-Transfer-Encoding: base64\r\n\r\n").Append(TransferEncoding.EncodeBase64(bytes));
    }
}

/// <summary>Binary content (an attachment by default), base64-encoded, file name per RFC 2231 when not ASCII.</summary>
public sealed class BinaryPart(string contentType, byte[] data, string? fileName = null, string disposition = "attachment") : MimePart
{
    internal override void Write(StringBuilder sb, Func<string> newBoundary)
    {
        sb.Append("Content-Type: ").Append(contentType);
        if (fileName is not null)
            sb.Append(';').Append(HeaderFolding.Parameter("name", fileName));
        sb.Append("\r\n");
        sb.Append("Content-Disposition: ").Append(disposition);
        if (fileName is not null)
            sb.Append(';').Append(HeaderFolding.Parameter("filename", fileName));
        sb.Append("\r\n");
        WriteExtraHeaders(sb);
        sb.Append("Content-Transfer-Encoding: base64\r\n\r\n").Append(TransferEncoding.EncodeBase64(data));
    }
}

/// <summary>A message inside a message: message/rfc822 (whole) or text/rfc822-headers (headers only, for DSNs).</summary>
public sealed class MessagePart(byte[] message, bool headersOnly = false) : MimePart
{
    internal override void Write(StringBuilder sb, Func<string> newBoundary)
    {
        var raw = message.AsSpan();
        if (headersOnly)
        {
            int end = raw.IndexOf("\r\n\r\n"u8);
            raw = end < 0 ? raw : raw[..(end + 2)];
        }
        sb.Append("Content-Type: ").Append(headersOnly ? "text/rfc822-headers" : "message/rfc822").Append("\r\n");
        WriteExtraHeaders(sb);
        // Lossless: the bytes go out as they are (8bit if they must), decoded as Latin-1 so each byte is one char.
        bool eightBit = raw.IndexOfAnyInRange((byte)0x80, (byte)0xff) >= 0;
        sb.Append("Content-Transfer-Encoding: ").Append(eightBit ? "8bit" : "7bit").Append("\r\n\r\n");
        sb.Append(Encoding.Latin1.GetString(raw));
        if (!raw.EndsWith("\r\n"u8))
            sb.Append("\r\n");
    }
}

/// <summary>A raw part with a given content type and already-formatted 7bit body (e.g. message/delivery-status).</summary>
public sealed class RawTextPart(string contentType, string body) : MimePart
{
    internal override void Write(StringBuilder sb, Func<string> newBoundary)
    {
        sb.Append("Content-Type: ").Append(contentType).Append("\r\n");
        WriteExtraHeaders(sb);
        sb.Append("Content-Transfer-Encoding: 7bit\r\n\r\n").Append(body.ReplaceLineEndings("\r\n"));
        if (!body.EndsWith('\n'))
            sb.Append("\r\n");
    }
}

public sealed class Multipart(string subtype, params MimePart[] parts) : MimePart
{
    public List<MimePart> Parts { get; } = [.. parts];

    /// <summary>Extra Content-Type parameters, e.g. report-type=delivery-status.</summary>
    public List<KeyValuePair<string, string>> Parameters { get; } = [];

    internal override void Write(StringBuilder sb, Func<string> newBoundary)
    {
        var boundary = newBoundary();
        sb.Append("Content-Type: multipart/").Append(subtype);
        foreach (var (k, v) in Parameters)
            sb.Append(';').Append(HeaderFolding.Parameter(k, v));
        sb.Append(";\r\n boundary=\"").Append(boundary).Append("\"\r\n");
        WriteExtraHeaders(sb);
        sb.Append("\r\n");
        foreach (var part in Parts)
        {
            sb.Append("--").Append(boundary).Append("\r\n");
            part.Write(sb, newBoundary);
        }
        sb.Append("--").Append(boundary).Append("--\r\n");
    }
}

/// <summary>
/// Composes a message: headers encoded (RFC 2047) and folded at 78 columns, MIME-Version, a body part tree.
/// Date and Message-ID are added when not given.
/// </summary>
public sealed class MessageBuilder
{
    private readonly List<KeyValuePair<string, string>> _headers = [];
    private int _boundaryCounter;

    public MimePart? Body { get; set; }

    /// <summary>An unstructured header (Subject, Comments, X-...): encoded if it is not plain ASCII.</summary>
    public MessageBuilder Header(string name, string value)
    {
        _headers.Add(new(name, EncodedWords.NeedsEncoding(value) ? EncodedWords.Encode(value) : value));
        return this;
    }

    /// <summary>A header whose value is already in wire form (Message-ID, References, Received, ...).</summary>
    public MessageBuilder RawHeader(string name, string value)
    {
        _headers.Add(new(name, value));
        return this;
    }

    public MessageBuilder Address(string name, params (string? DisplayName, string Address)[] addresses)
    {
        _headers.Add(new(name, string.Join(",\r\n ", addresses.Select(a => FormatAddress(a.DisplayName, a.Address)))));
        return this;
    }

    public MessageBuilder Subject(string subject) => Header("Subject", subject);

    public static string FormatAddress(string? displayName, string address)
    {
        if (string.IsNullOrEmpty(displayName))
            return address;
        string phrase = EncodedWords.NeedsEncoding(displayName) ? EncodedWords.Encode(displayName)
            : displayName.Any(c => "()<>[]:;@\\,.\"".Contains(c, StringComparison.Ordinal)) ? "\"" + displayName.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\""
            : displayName;
        return $"{phrase} <{address}>";
    }

    public byte[] ToBytes() => Encoding.Latin1.GetBytes(ToLatin1String());

    /// <summary>The message text where every char is one byte (UTF-8 text is already encoded by now).</summary>
    private string ToLatin1String()
    {
        var sb = new StringBuilder();
        if (!_headers.Any(h => h.Key.Equals("Date", StringComparison.OrdinalIgnoreCase)))
            _headers.Insert(0, new("Date", DateParser.Format(DateTimeOffset.UtcNow)));
        if (!_headers.Any(h => h.Key.Equals("Message-ID", StringComparison.OrdinalIgnoreCase)))
            _headers.Add(new("Message-ID", $"<{Guid.NewGuid():N}@mailcloud>"));
        foreach (var (name, value) in _headers)
            sb.Append(HeaderFolding.Format(name, value));
        sb.Append("MIME-Version: 1.0\r\n");
        (Body ?? new TextPart(string.Empty)).Write(sb, () => $"=_mc_{++_boundaryCounter}_{Guid.NewGuid():N}");
        // Text parts were appended as .NET strings: re-encode non-Latin-1 chars (only possible from RawTextPart) as UTF-8.
        var text = sb.ToString();
        return text.Any(c => c > 0xff) ? Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text)) : text;
    }
}

public static class HeaderFolding
{
    /// <summary>"Name: value\r\n", folded at whitespace to keep lines within 78 characters where possible.</summary>
    public static string Format(string name, string value)
    {
        var line = new StringBuilder(name).Append(": ");
        int lineLength = line.Length;
        var words = value.Split(' ');
        for (int i = 0; i < words.Length; i++)
        {
            var word = words[i];
            int nl = word.LastIndexOf('\n');
            if (i > 0)
            {
                if (lineLength + 1 + word.Length > 78 && lineLength > name.Length + 2 && !word.StartsWith("\r\n", StringComparison.Ordinal))
                {
                    line.Append("\r\n ");
                    lineLength = 1;
                }
                else
                {
                    line.Append(' ');
                    lineLength++;
                }
            }
            line.Append(word);
            lineLength = nl >= 0 ? word.Length - nl - 1 : lineLength + word.Length;
        }
        return line.Append("\r\n").ToString();
    }

    /// <summary>A parameter " name=value", quoted, or RFC 2231-encoded (name*=utf-8''...) when not ASCII.</summary>
    public static string Parameter(string name, string value)
    {
        if (value.All(c => c is >= ' ' and < (char)0x7f))
            return $"\r\n {name}=\"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"";
        var encoded = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b < 0x80 && (char.IsAsciiLetterOrDigit((char)b) || "!#$&+-.^_`|~".Contains((char)b, StringComparison.Ordinal)))
                encoded.Append((char)b);
            else
                encoded.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return $"\r\n {name}*=utf-8''{encoded}";
    }
}
