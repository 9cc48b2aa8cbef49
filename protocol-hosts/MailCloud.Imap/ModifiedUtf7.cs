using System.Text;

namespace MailCloud.Imap;

/// <summary>
/// IMAP4rev1 mailbox names (RFC 3501 5.1.3): printable ASCII as itself ("&amp;" as "&amp;-"), everything else as
/// "&amp;" + modified base64 of UTF-16BE + "-". Names are stored in UTF-8; IMAP4rev2 clients use UTF-8 directly.
/// </summary>
public static class ModifiedUtf7
{
    public static string Encode(string name)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < name.Length)
        {
            char c = name[i];
            if (c is >= ' ' and <= '~')
            {
                sb.Append(c == '&' ? "&-" : c.ToString());
                i++;
                continue;
            }
            int start = i;
            while (i < name.Length && name[i] is < ' ' or > '~')
                i++;
            var utf16 = Encoding.BigEndianUnicode.GetBytes(name[start..i]);
            sb.Append('&').Append(Convert.ToBase64String(utf16).TrimEnd('=').Replace('/', ',')).Append('-');
        }
        return sb.ToString();
    }

    /// <summary>Decodes a name; false when it is not valid modified UTF-7.</summary>
    public static bool TryDecode(string encoded, out string name)
    {
        name = encoded;
        if (!encoded.Contains('&', StringComparison.Ordinal))
            return true;
        var sb = new StringBuilder();
        int i = 0;
        while (i < encoded.Length)
        {
            char c = encoded[i];
            if (c != '&')
            {
                sb.Append(c);
                i++;
                continue;
            }
            int end = encoded.IndexOf('-', i + 1);
            if (end < 0)
                return false;
            if (end == i + 1)
            {
                sb.Append('&');
                i = end + 1;
                continue;
            }
            var b64 = encoded[(i + 1)..end].Replace(',', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            try
            {
                var bytes = Convert.FromBase64String(b64);
                if (bytes.Length % 2 != 0)
                    return false;
                sb.Append(Encoding.BigEndianUnicode.GetString(bytes));
            }
            catch (FormatException)
            {
                return false;
            }
            i = end + 1;
        }
        name = sb.ToString();
        return true;
    }
}
