using System.Buffers;
using System.Text;

namespace MailCloud.Imap;

/// <summary>
/// Parses one framed command (see <see cref="ImapFramer"/>) into tag, name and argument tokens. Works on bytes and
/// never throws on bad input: it returns false with the text of a BAD reply, and the tag when one was readable.
/// Atoms may carry a bracketed section with spaces and parentheses (BODY[HEADER.FIELDS (From)]&lt;0.100&gt;), as
/// FETCH needs.
/// </summary>
public static class ImapParser
{
    private const int MaxDepth = 32;

    public static bool TryParse(ReadOnlySequence<byte> command, out ImapCommand? parsed, out string tag, out string error)
    {
        var bytes = command.IsSingleSegment ? command.FirstSpan : command.ToArray();
        return TryParse(bytes, out parsed, out tag, out error);
    }

    public static bool TryParse(ReadOnlySpan<byte> bytes, out ImapCommand? parsed, out string tag, out string error)
    {
        parsed = null;
        tag = "*";
        // Strip the final line break.
        if (bytes.Length > 0 && bytes[^1] == '\n')
            bytes = bytes[..^1];
        if (bytes.Length > 0 && bytes[^1] == '\r')
            bytes = bytes[..^1];
        int pos = 0;
        var tagBytes = ReadWhile(bytes, ref pos, b => b > 0x20 && b < 0x7f && b is not ((byte)'(' or (byte)')' or (byte)'{' or (byte)'%' or (byte)'*' or (byte)'"' or (byte)'\\' or (byte)'+'));
        if (tagBytes.Length == 0)
        {
            error = "Missing command tag";
            return false;
        }
        tag = Encoding.ASCII.GetString(tagBytes);
        if (pos >= bytes.Length || bytes[pos] != ' ')
        {
            error = pos >= bytes.Length ? "Missing command" : "Invalid characters in tag";
            return false;
        }
        pos++;
        var name = Encoding.ASCII.GetString(ReadWhile(bytes, ref pos, IsAtomChar)).ToUpperInvariant();
        if (name.Length == 0)
        {
            error = "Missing command";
            return false;
        }
        bool uid = false;
        if (name == "UID")
        {
            if (pos >= bytes.Length || bytes[pos] != ' ')
            {
                error = "UID needs a command";
                return false;
            }
            pos++;
            name = Encoding.ASCII.GetString(ReadWhile(bytes, ref pos, IsAtomChar)).ToUpperInvariant();
            uid = true;
            if (name.Length == 0)
            {
                error = "UID needs a command"; // "UID  FETCH" (two spaces) once parsed as a nameless command (found by afl++)
                return false;
            }
        }
        var args = new List<ImapToken>();
        if (!TryReadTokens(bytes, ref pos, args, closer: null, depth: 0, out error))
            return false;
        parsed = new ImapCommand(tag, name, uid, args);
        return true;
    }

    private static bool TryReadTokens(ReadOnlySpan<byte> bytes, ref int pos, List<ImapToken> into, byte? closer, int depth, out string error)
    {
        error = string.Empty;
        if (depth > MaxDepth)
        {
            error = "Nesting too deep";
            return false;
        }
        while (true)
        {
            if (pos >= bytes.Length)
            {
                if (closer is null)
                    return true;
                error = "Missing )";
                return false;
            }
            if (closer is not null && bytes[pos] == closer)
            {
                pos++;
                return true;
            }
            // Tokens are separated by one space; inside lists, "(" and ")" also delimit.
            if (into.Count > 0 || closer is null)
            {
                if (bytes[pos] != ' ')
                {
                    error = "Expected a space between arguments";
                    return false;
                }
                pos++;
                if (pos >= bytes.Length)
                {
                    error = "Unexpected end of command";
                    return false;
                }
                if (closer is not null && bytes[pos] == closer)
                {
                    error = "Unexpected space before )";
                    return false;
                }
            }
            if (!TryReadToken(bytes, ref pos, depth, out var token, out error))
                return false;
            into.Add(token!);
        }
    }

    private static bool TryReadToken(ReadOnlySpan<byte> bytes, ref int pos, int depth, out ImapToken? token, out string error)
    {
        token = null;
        error = string.Empty;
        var b = bytes[pos];
        if (b == '(')
        {
            pos++;
            var items = new List<ImapToken>();
            if (!TryReadTokens(bytes, ref pos, items, (byte)')', depth + 1, out error))
                return false;
            token = ImapToken.List(items);
            return true;
        }
        if (b == '"')
        {
            pos++;
            var s = new List<byte>();
            while (true)
            {
                if (pos >= bytes.Length || bytes[pos] is (byte)'\r' or (byte)'\n')
                {
                    error = "Unterminated quoted string";
                    return false;
                }
                var c = bytes[pos++];
                if (c == '"')
                    break;
                if (c == '\\')
                {
                    if (pos >= bytes.Length || bytes[pos] is not ((byte)'"' or (byte)'\\'))
                    {
                        error = "Invalid escape in quoted string";
                        return false;
                    }
                    c = bytes[pos++];
                }
                s.Add(c);
            }
            token = ImapToken.Quoted([.. s]);
            return true;
        }
        if (b == '{' || b == '~' && pos + 1 < bytes.Length && bytes[pos + 1] == '{')
        {
            if (b == '~')
                pos++;
            int close = bytes[pos..].IndexOf((byte)'}');
            if (close < 0)
            {
                error = "Bad literal";
                return false;
            }
            var spec = bytes.Slice(pos + 1, close - 1);
            if (spec.Length > 0 && spec[^1] == '+')
                spec = spec[..^1];
            if (!long.TryParse(spec, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size))
            {
                error = "Bad literal size";
                return false;
            }
            pos += close + 1;
            if (pos + 1 < bytes.Length && bytes[pos] == '\r')
                pos++;
            if (pos >= bytes.Length || bytes[pos] != '\n' || bytes.Length - pos - 1 < size)
            {
                error = "Bad literal";
                return false;
            }
            pos++;
            token = ImapToken.Literal(bytes.Slice(pos, (int)size).ToArray());
            pos += (int)size;
            return true;
        }
        if (b == ')')
        {
            error = "Unexpected )";
            return false;
        }
        // An atom; a '[' with a ']' after it opens a section (BODY[HEADER.FIELDS (A B)]) that runs to the ']' whatever
        // it holds. Without one, '[' is an ordinary atom character (RFC 3501: it is no atom-special).
        int start = pos;
        while (pos < bytes.Length)
        {
            var c = bytes[pos];
            if (c == '[')
            {
                int close = bytes[pos..].IndexOf((byte)']');
                pos += close < 0 ? 1 : close + 1;
                continue;
            }
            if (!IsAtomChar(c))
                break;
            pos++;
        }
        if (pos == start)
        {
            error = "Invalid character in command";
            return false;
        }
        token = ImapToken.Atom(bytes[start..pos].ToArray());
        return true;
    }

    /// <summary>ATOM-CHAR plus the list wildcards and ']' (resp-specials are harmless in commands), and 8-bit UTF-8.</summary>
    private static bool IsAtomChar(byte c) => c > 0x20 && c != 0x7f && c is not ((byte)'(' or (byte)')' or (byte)'{' or (byte)'"');

    private static ReadOnlySpan<byte> ReadWhile(ReadOnlySpan<byte> bytes, ref int pos, Func<byte, bool> accept)
    {
        int start = pos;
        while (pos < bytes.Length && accept(bytes[pos]))
            pos++;
        return bytes[start..pos];
    }
}
