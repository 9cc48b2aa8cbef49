using System.Text;

namespace MailCloud.Mime;

/// <summary>An address in a header: a mailbox or a group of mailboxes (RFC 5322 3.4).</summary>
public abstract record InternetAddress(string? Name);

/// <summary>A mailbox. <see cref="LocalPart"/> without quotes; <see cref="Domain"/> empty for bare local parts seen in broken mail.</summary>
public sealed record MailboxAddress(string? Name, string LocalPart, string Domain) : InternetAddress(Name)
{
    /// <summary>An obsolete source route ("@a,@b"), kept for IMAP's ENVELOPE (its adl field); null when there was none.</summary>
    public string? Route { get; init; }

    public string Address => Domain.Length == 0 ? LocalPart : $"{QuoteLocal(LocalPart)}@{Domain}";

    private static string QuoteLocal(string local) =>
        local.Length > 0 && local.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-/=?^_`{|}~.".Contains(c, StringComparison.Ordinal) || c > 0x7f) && !local.StartsWith('.') && !local.EndsWith('.') && !local.Contains("..", StringComparison.Ordinal)
            ? local
            : "\"" + local.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    public override string ToString() => Name is { Length: > 0 } n ? $"{n} <{Address}>" : Address;
}

public sealed record GroupAddress(string? Name, IReadOnlyList<MailboxAddress> Members) : InternetAddress(Name);

/// <summary>Parses address lists with groups, comments, quoted strings, encoded-word display names and obsolete routes.</summary>
public static class AddressParser
{
    /// <param name="decodeNames">Decode RFC 2047 words in display names (false for IMAP ENVELOPE, which wants them as sent).</param>
    public static IReadOnlyList<InternetAddress> ParseList(string? text, bool decodeNames = true)
    {
        var result = new List<InternetAddress>();
        if (string.IsNullOrWhiteSpace(text))
            return result;
        var t = new HeaderTokenizer(text);
        ParseInto(ref t, result, inGroup: false, decodeNames);
        return result;
    }

    /// <summary>Every mailbox, with group members flattened.</summary>
    public static IReadOnlyList<MailboxAddress> ParseMailboxes(string? text) =>
        ParseList(text).SelectMany(a => a is GroupAddress g ? g.Members : [(MailboxAddress)a]).ToList();

    private static void ParseInto(ref HeaderTokenizer t, List<InternetAddress> result, bool inGroup, bool decode)
    {
        while (!t.AtEnd)
        {
            if (t.Peek == ',')
            {
                t.Position++;
                continue;
            }
            if (inGroup && t.Peek == ';')
                return;
            var words = new List<(string Text, bool Quoted)>();
            string? comment = null;
            bool done = false;
            while (!done)
            {
                comment = t.SkipCfws() ?? comment;
                if (t.AtEnd)
                    break;
                char c = t.Peek;
                switch (c)
                {
                    case '"':
                        words.Add((t.ReadQuoted(), true));
                        break;
                    case '<':
                    {
                        t.Position++;
                        var inner = new StringBuilder();
                        while (!t.AtEnd && t.Peek != '>')
                        {
                            if (t.Peek == '"')
                                inner.Append('"').Append(t.ReadQuoted().Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
                            else if (t.Peek is '(' or ' ' or '\t' or '\r' or '\n')
                                t.SkipCfws();
                            else
                            {
                                inner.Append(t.Peek);
                                t.Position++;
                            }
                        }
                        if (!t.AtEnd)
                            t.Position++;
                        var name = Phrase(words, decode);
                        if (MailboxFromSpec(inner.ToString(), name) is { } box)
                            result.Add(box);
                        else if (name is not null)
                            result.Add(new MailboxAddress(name, string.Empty, string.Empty));
                        words.Clear();
                        SkipToSeparator(ref t, inGroup);
                        done = true;
                        break;
                    }
                    case ':' when !inGroup:
                    {
                        t.Position++;
                        var members = new List<InternetAddress>();
                        ParseInto(ref t, members, inGroup: true, decode);
                        if (!t.AtEnd && t.Peek == ';')
                            t.Position++;
                        result.Add(new GroupAddress(Phrase(words, decode), members.OfType<MailboxAddress>().ToList()));
                        words.Clear();
                        done = true;
                        break;
                    }
                    case ',':
                        done = true;
                        break;
                    case ';' when inGroup:
                        done = true;
                        break;
                    case '>' or ';' or ':':
                        t.Position++;
                        break;
                    case '[':
                        words.Add((t.ReadDomainLiteral(), false));
                        break;
                    default:
                        words.Add((t.ReadAtom("<>,;:\"[" + (inGroup ? "" : "")), false));
                        break;
                }
            }
            if (words.Count > 0)
            {
                // A bare addr-spec: the words are its pieces (no spaces between them in a valid one).
                var spec = string.Concat(words.Select(w => w.Quoted ? "\"" + w.Text.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"" : w.Text));
                if (MailboxFromSpec(spec, comment is null ? null : decode ? EncodedWords.Decode(comment.Trim()) : comment.Trim()) is { } box)
                    result.Add(box);
            }
            if (!t.AtEnd && t.Peek == ',')
                t.Position++;
        }
    }

    private static void SkipToSeparator(ref HeaderTokenizer t, bool inGroup)
    {
        while (!t.AtEnd && t.Peek != ',' && !(inGroup && t.Peek == ';'))
        {
            if (t.Peek == '(')
                t.SkipCfws();
            else
                t.Position++;
        }
    }

    private static string? Phrase(List<(string Text, bool Quoted)> words, bool decode)
    {
        if (words.Count == 0)
            return null;
        var joined = string.Join(' ', words.Select(w => w.Text));
        // Trim the wire text, not the decoded name: spaces inside an encoded word belong to the name.
        joined = joined.Trim();
        var decoded = decode ? EncodedWords.Decode(joined) : joined;
        return decoded.Length == 0 ? null : decoded;
    }

    private static MailboxAddress? MailboxFromSpec(string spec, string? name)
    {
        spec = spec.Trim();
        // Obsolete route "@a,@b:user@host": the final addr-spec is the address; the route is kept beside it.
        string? route = null;
        if (spec.StartsWith('@'))
        {
            int colon = spec.IndexOf(':', StringComparison.Ordinal);
            route = colon < 0 ? null : spec[..colon];
            spec = colon < 0 ? string.Empty : spec[(colon + 1)..];
        }
        if (spec.Length == 0)
            return null;
        int at = LastAtOutsideQuotes(spec);
        var local = at < 0 ? spec : spec[..at];
        var domain = at < 0 ? string.Empty : spec[(at + 1)..];
        if (local.Length >= 2 && local[0] == '"' && local[^1] == '"')
            local = local[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
        return new MailboxAddress(name, local, domain) { Route = route };
    }

    private static int LastAtOutsideQuotes(string s)
    {
        bool quoted = false;
        int last = -1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && quoted)
                i++;
            else if (s[i] == '"')
                quoted = !quoted;
            else if (s[i] == '@' && !quoted)
                last = i;
        }
        return last;
    }
}
