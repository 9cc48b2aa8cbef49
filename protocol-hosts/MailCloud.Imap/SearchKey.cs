using System.Globalization;

namespace MailCloud.Imap;

public enum SearchText
{
    From,
    To,
    Cc,
    Bcc,
    Subject,
    Header,
    Body,
    Text,
}

public enum DateCompare
{
    Before,
    On,
    Since,
}

/// <summary>A SEARCH criterion (RFC 3501 6.4.4, RFC 7162 MODSEQ) as a tree; evaluated by the session.</summary>
public abstract record SearchKey
{
    /// <summary>What a criterion needs beyond the session's flag list: 1 = summary columns, 2 = header block, 4 = body.</summary>
    public abstract int Needs { get; }
}

public sealed record AllKey : SearchKey { public override int Needs => 0; }
public sealed record NoneKey : SearchKey { public override int Needs => 0; }
public sealed record FlagKey(string Flag, bool Set) : SearchKey { public override int Needs => 0; }
public sealed record SetKey(SequenceSet Set, bool Uid) : SearchKey { public override int Needs => 0; }
public sealed record SizeKey(long Size, bool Larger) : SearchKey { public override int Needs => 0; }
public sealed record ModSeqKey(long ModSeq) : SearchKey { public override int Needs => 0; }

/// <summary>"$": the result a previous SEARCH RETURN (SAVE) kept (RFC 5182).</summary>
public sealed record SavedKey : SearchKey { public override int Needs => 0; }
public sealed record DateKey(DateOnly Date, DateCompare Compare, bool Sent) : SearchKey { public override int Needs => Sent ? 1 : 0; }

public sealed record TextKey(SearchText Field, string? HeaderName, string Value) : SearchKey
{
    public override int Needs => Field switch
    {
        SearchText.From or SearchText.To or SearchText.Cc or SearchText.Subject => 1,
        SearchText.Bcc or SearchText.Header => 2,
        SearchText.Body => 4,
        _ => 6,
    };
}

public sealed record NotKey(SearchKey Key) : SearchKey { public override int Needs => Key.Needs; }
public sealed record OrKey(SearchKey Left, SearchKey Right) : SearchKey { public override int Needs => Left.Needs | Right.Needs; }
public sealed record AndKey(IReadOnlyList<SearchKey> Keys) : SearchKey { public override int Needs => Keys.Aggregate(0, (n, k) => n | k.Needs); }

/// <summary>Parses SEARCH arguments (after an optional CHARSET) from tokens; false with a BAD text on bad syntax.</summary>
public static class SearchParser
{
    public static bool TryParse(IReadOnlyList<ImapToken> args, out SearchKey key, out string? charset, out string error)
    {
        key = new AllKey();
        charset = null;
        error = string.Empty;
        int i = 0;
        if (args.Count >= 2 && args[0].IsAtom("CHARSET"))
        {
            charset = args[1].Text;
            i = 2;
        }
        if (i >= args.Count)
        {
            error = "Missing search criteria";
            return false;
        }
        var keys = new List<SearchKey>();
        while (i < args.Count)
        {
            if (!TryKey(args, ref i, 0, out var k, out error))
                return false;
            keys.Add(k!);
        }
        key = keys.Count == 1 ? keys[0] : new AndKey(keys);
        return true;
    }

    private static bool TryKey(IReadOnlyList<ImapToken> args, ref int i, int depth, out SearchKey? key, out string error)
    {
        key = null;
        error = string.Empty;
        if (depth > 32)
        {
            error = "Search criteria nested too deep";
            return false;
        }
        var t = args[i++];
        if (t.IsList)
        {
            var inner = new List<SearchKey>();
            int j = 0;
            while (j < t.Items.Count)
            {
                if (!TryKey(t.Items, ref j, depth + 1, out var k, out error))
                    return false;
                inner.Add(k!);
            }
            if (inner.Count == 0)
            {
                error = "Empty parenthesized search key";
                return false;
            }
            key = inner.Count == 1 ? inner[0] : new AndKey(inner);
            return true;
        }
        if (t.Kind != ImapTokenKind.Atom)
        {
            error = "Search key expected, got a string";
            return false;
        }
        var word = t.Text.ToUpperInvariant();
        if (word == "$")
        {
            key = new SavedKey();
            return true;
        }
        if (char.IsAsciiDigit(word[0]) || word[0] == '*')
        {
            if (!SequenceSet.TryParse(word, out var set))
            {
                error = "Invalid sequence set";
                return false;
            }
            key = new SetKey(set, Uid: false);
            return true;
        }
        bool Arg(ref int i, out string value, out string error)
        {
            error = string.Empty;
            value = string.Empty;
            if (i >= args.Count || args[i].IsList)
            {
                error = $"{word} needs an argument";
                return false;
            }
            value = args[i++].Text;
            return true;
        }
        string value, second;
        switch (word)
        {
            case "ALL": key = new AllKey(); return true;
            case "ANSWERED": key = new FlagKey("\\Answered", true); return true;
            case "DELETED": key = new FlagKey("\\Deleted", true); return true;
            case "DRAFT": key = new FlagKey("\\Draft", true); return true;
            case "FLAGGED": key = new FlagKey("\\Flagged", true); return true;
            case "SEEN": key = new FlagKey("\\Seen", true); return true;
            case "UNANSWERED": key = new FlagKey("\\Answered", false); return true;
            case "UNDELETED": key = new FlagKey("\\Deleted", false); return true;
            case "UNDRAFT": key = new FlagKey("\\Draft", false); return true;
            case "UNFLAGGED": key = new FlagKey("\\Flagged", false); return true;
            case "UNSEEN": key = new FlagKey("\\Seen", false); return true;
            // \Recent is this session's (IMAP4rev1); NEW is recent and unseen.
            case "RECENT": key = new FlagKey("\\Recent", true); return true;
            case "OLD": key = new FlagKey("\\Recent", false); return true;
            case "NEW": key = new AndKey([new FlagKey("\\Recent", true), new FlagKey("\\Seen", false)]); return true;
            case "KEYWORD" or "UNKEYWORD":
                if (!Arg(ref i, out value, out error))
                    return false;
                key = new FlagKey(value, word == "KEYWORD");
                return true;
            case "BCC" or "BODY" or "CC" or "FROM" or "SUBJECT" or "TEXT" or "TO":
                if (!Arg(ref i, out value, out error))
                    return false;
                key = new TextKey(Enum.Parse<SearchText>(word, ignoreCase: true), null, value);
                return true;
            case "HEADER":
                if (!Arg(ref i, out value, out error) || !Arg(ref i, out second, out error))
                    return false;
                key = new TextKey(SearchText.Header, value, second);
                return true;
            case "LARGER" or "SMALLER":
                if (!Arg(ref i, out value, out error))
                    return false;
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
                {
                    error = $"{word} needs a number";
                    return false;
                }
                key = new SizeKey(size, word == "LARGER");
                return true;
            case "MODSEQ":
                // RFC 7162: MODSEQ [entry-name entry-type] value; the entry is accepted and ignored (no per-flag modseqs).
                if (i + 2 < args.Count && args[i].IsString)
                    i += 2;
                if (!Arg(ref i, out value, out error))
                    return false;
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var modSeq))
                {
                    error = "MODSEQ needs a number";
                    return false;
                }
                key = new ModSeqKey(modSeq);
                return true;
            case "BEFORE" or "ON" or "SINCE" or "SENTBEFORE" or "SENTON" or "SENTSINCE":
                if (!Arg(ref i, out value, out error))
                    return false;
                if (!DateOnly.TryParseExact(value, ["d-MMM-yyyy", "dd-MMM-yyyy"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                {
                    error = $"{word} needs a date like 1-Feb-1994";
                    return false;
                }
                var sent = word.StartsWith("SENT", StringComparison.Ordinal);
                key = new DateKey(date, Enum.Parse<DateCompare>(sent ? word[4..] : word, ignoreCase: true), sent);
                return true;
            case "NOT":
                if (i >= args.Count)
                {
                    error = "NOT needs a search key";
                    return false;
                }
                if (!TryKey(args, ref i, depth + 1, out var negated, out error))
                    return false;
                key = new NotKey(negated!);
                return true;
            case "OR":
                if (i + 1 >= args.Count)
                {
                    error = "OR needs two search keys";
                    return false;
                }
                if (!TryKey(args, ref i, depth + 1, out var left, out error))
                    return false;
                if (i >= args.Count)
                {
                    error = "OR needs two search keys";
                    return false;
                }
                if (!TryKey(args, ref i, depth + 1, out var right, out error))
                    return false;
                key = new OrKey(left!, right!);
                return true;
            case "UID":
                if (!Arg(ref i, out value, out error))
                    return false;
                if (value == "$")
                {
                    key = new SavedKey();
                    return true;
                }
                if (!SequenceSet.TryParse(value, out var uids))
                {
                    error = "Invalid UID set";
                    return false;
                }
                key = new SetKey(uids, Uid: true);
                return true;
            default:
                error = $"Unknown search key {word}";
                return false;
        }
    }
}
