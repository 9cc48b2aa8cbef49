using System.Text;

namespace MailCloud.Mime;

/// <summary>RFC 2047 encoded words: decoding (tolerant, as real mail needs) and encoding (for the builder).</summary>
public static class EncodedWords
{
    /// <summary>
    /// Decodes every =?charset?B|Q?text?= in an unstructured header value. Whitespace between adjacent encoded words
    /// is dropped (RFC 2047 6.2); malformed words stay as they are.
    /// </summary>
    public static string Decode(string value)
    {
        if (!value.Contains("=?", StringComparison.Ordinal))
            return value;
        var sb = new StringBuilder(value.Length);
        int i = 0;
        bool lastWasEncoded = false;
        int pendingWhitespaceStart = -1;
        // Adjacent words in the same charset are joined at byte level first, so multi-byte characters split across
        // words (common with base64) decode correctly.
        List<byte>? pendingBytes = null;
        string? pendingCharset = null;

        void FlushPending()
        {
            if (pendingBytes is not null)
            {
                sb.Append(Charsets.Decode(pendingBytes.ToArray(), pendingCharset));
                pendingBytes = null;
                pendingCharset = null;
            }
        }

        while (i < value.Length)
        {
            if (value[i] == '=' && i + 1 < value.Length && value[i + 1] == '?' && TryParseWord(value, i, out var end, out var charset, out var bytes))
            {
                if (!lastWasEncoded && pendingWhitespaceStart >= 0)
                    sb.Append(value, pendingWhitespaceStart, i - pendingWhitespaceStart);
                pendingWhitespaceStart = -1;
                if (pendingBytes is not null && !string.Equals(pendingCharset, charset, StringComparison.OrdinalIgnoreCase))
                    FlushPending();
                pendingBytes ??= [];
                pendingCharset = charset;
                pendingBytes.AddRange(bytes);
                lastWasEncoded = true;
                i = end;
                continue;
            }
            if (value[i] is ' ' or '\t' or '\r' or '\n')
            {
                if (pendingWhitespaceStart < 0)
                    pendingWhitespaceStart = i;
                i++;
                continue;
            }
            FlushPending();
            if (pendingWhitespaceStart >= 0)
            {
                sb.Append(value, pendingWhitespaceStart, i - pendingWhitespaceStart);
                pendingWhitespaceStart = -1;
            }
            lastWasEncoded = false;
            sb.Append(value[i]);
            i++;
        }
        FlushPending();
        if (pendingWhitespaceStart >= 0)
            sb.Append(value, pendingWhitespaceStart, value.Length - pendingWhitespaceStart);
        return sb.ToString();
    }

    private static bool TryParseWord(string s, int start, out int end, out string charset, out byte[] bytes)
    {
        end = start;
        charset = string.Empty;
        bytes = [];
        int q1 = s.IndexOf('?', start + 2);
        if (q1 < 0)
            return false;
        int q2 = q1 + 2 < s.Length && s[q1 + 2] == '?' ? q1 + 2 : -1;
        if (q2 < 0)
            return false;
        int close = s.IndexOf("?=", q2 + 1, StringComparison.Ordinal);
        if (close < 0)
            return false;
        charset = s[(start + 2)..q1];
        if (charset.Length == 0 || charset.Any(c => c is ' ' or '\t' or '?'))
            return false;
        var text = s[(q2 + 1)..close];
        if (text.Contains(' ', StringComparison.Ordinal))
            return false;
        switch (char.ToUpperInvariant(s[q1 + 1]))
        {
            case 'B':
                bytes = TransferEncoding.DecodeBase64(Encoding.ASCII.GetBytes(text));
                break;
            case 'Q':
                bytes = DecodeQ(text);
                break;
            default:
                return false;
        }
        end = close + 2;
        return true;
    }

    private static byte[] DecodeQ(string text)
    {
        var result = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '_')
                result.Add((byte)' ');
            else if (c == '=' && i + 2 < text.Length && Uri.IsHexDigit(text[i + 1]) && Uri.IsHexDigit(text[i + 2]))
            {
                result.Add(Convert.ToByte(text.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
                result.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
        return [.. result];
    }

    /// <summary>Whether a header text needs encoding (non-ASCII, or something that looks like an encoded word).</summary>
    public static bool NeedsEncoding(string text) => text.Any(c => c > 0x7e || (c < 0x20 && c != '\t')) || text.Contains("=?", StringComparison.Ordinal);

    /// <summary>Encodes text as UTF-8 "B" encoded words of at most 75 characters each, separated by folding whitespace.</summary>
    public static string Encode(string text)
    {
        const int maxPayloadBytes = 39; // 52 base64 chars + "=?utf-8?B?" + "?=" = 64, so even "Subject: " + word fits 78
        var words = new List<string>();
        var current = new List<byte>();
        Span<byte> buf = stackalloc byte[4];
        foreach (var rune in text.EnumerateRunes())
        {
            int n = rune.EncodeToUtf8(buf);
            if (current.Count + n > maxPayloadBytes)
            {
                words.Add("=?utf-8?B?" + Convert.ToBase64String(current.ToArray()) + "?=");
                current.Clear();
            }
            current.AddRange(buf[..n].ToArray());
        }
        if (current.Count > 0 || words.Count == 0)
            words.Add("=?utf-8?B?" + Convert.ToBase64String(current.ToArray()) + "?=");
        return string.Join("\r\n ", words);
    }
}
