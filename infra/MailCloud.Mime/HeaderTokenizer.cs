using System.Text;

namespace MailCloud.Mime;

/// <summary>Lexer for structured header values (RFC 5322 3.2): comments, quoted strings, atoms, specials.</summary>
internal ref struct HeaderTokenizer(string text)
{
    private readonly string _text = text;
    public int Position;

    public readonly bool AtEnd => Position >= _text.Length;
    public readonly char Peek => Position < _text.Length ? _text[Position] : '\0';

    /// <summary>Skips folding whitespace and (nested) comments; returns the comments' text (for display-name fallbacks).</summary>
    public string? SkipCfws()
    {
        string? comment = null;
        while (Position < _text.Length)
        {
            char c = _text[Position];
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                Position++;
            }
            else if (c == '(')
            {
                int depth = 0;
                var sb = new StringBuilder();
                while (Position < _text.Length)
                {
                    c = _text[Position++];
                    if (c == '\\' && Position < _text.Length)
                    {
                        sb.Append(_text[Position++]);
                        continue;
                    }
                    if (c == '(')
                    {
                        if (depth++ > 0)
                            sb.Append(c);
                    }
                    else if (c == ')')
                    {
                        if (--depth == 0)
                            break;
                        sb.Append(c);
                    }
                    else
                        sb.Append(c);
                }
                comment = sb.ToString();
            }
            else
                break;
        }
        return comment;
    }

    /// <summary>Reads a quoted string (the opening quote is at Position); an unterminated one runs to the end.</summary>
    public string ReadQuoted()
    {
        var sb = new StringBuilder();
        Position++;
        while (Position < _text.Length)
        {
            char c = _text[Position++];
            if (c == '\\' && Position < _text.Length)
                sb.Append(_text[Position++]);
            else if (c == '"')
                return sb.ToString();
            else if (c is '\r' or '\n')
                continue; // folding inside quotes
            else
                sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Reads characters until one of <paramref name="stops"/>, whitespace or '(' / '"'.</summary>
    public string ReadAtom(string stops)
    {
        int start = Position;
        while (Position < _text.Length)
        {
            char c = _text[Position];
            if (c is ' ' or '\t' or '\r' or '\n' or '(' or '"' || stops.Contains(c, StringComparison.Ordinal))
                break;
            Position++;
        }
        return _text[start..Position];
    }

    /// <summary>Reads a domain literal [ ... ].</summary>
    public string ReadDomainLiteral()
    {
        int start = Position;
        int close = _text.IndexOf(']', Position);
        Position = close < 0 ? _text.Length : close + 1;
        return _text[start..Position];
    }
}
