using System.Globalization;

namespace MailCloud.Imap;

public enum FetchKind
{
    Flags,
    Uid,
    InternalDate,
    Size,
    Envelope,
    Body,
    BodyStructure,
    ModSeq,

    /// <summary>BODY[section], BODY.PEEK[...], RFC822, RFC822.HEADER, RFC822.TEXT: bytes of the raw message.</summary>
    Section,

    /// <summary>BINARY[part] (RFC 3516): a part with its content transfer encoding undone.</summary>
    Binary,
    BinarySize,
}

/// <summary>One FETCH data item; <see cref="Name"/> is how the response labels it.</summary>
public sealed record FetchItem(FetchKind Kind, string Name, string Section = "", long? PartialStart = null, long? PartialLength = null, bool Peek = true)
{
    /// <summary>Needs the stored summary columns (ENVELOPE, BODY, BODYSTRUCTURE) or the part offsets.</summary>
    public bool NeedsRow => Kind is FetchKind.Envelope or FetchKind.Body or FetchKind.BodyStructure or FetchKind.Section or FetchKind.Binary or FetchKind.BinarySize;
}

/// <summary>Parses the data items of FETCH: a macro (ALL, FAST, FULL), one item, or a parenthesized list.</summary>
public static class FetchParser
{
    public static bool TryParse(ImapToken spec, out List<FetchItem> items, out string error)
    {
        items = [];
        error = string.Empty;
        if (spec.Kind == ImapTokenKind.Atom)
        {
            switch (spec.Text.ToUpperInvariant())
            {
                case "ALL":
                    items.AddRange([new(FetchKind.Flags, "FLAGS"), new(FetchKind.InternalDate, "INTERNALDATE"), new(FetchKind.Size, "RFC822.SIZE"), new(FetchKind.Envelope, "ENVELOPE")]);
                    return true;
                case "FAST":
                    items.AddRange([new(FetchKind.Flags, "FLAGS"), new(FetchKind.InternalDate, "INTERNALDATE"), new(FetchKind.Size, "RFC822.SIZE")]);
                    return true;
                case "FULL":
                    items.AddRange([new(FetchKind.Flags, "FLAGS"), new(FetchKind.InternalDate, "INTERNALDATE"), new(FetchKind.Size, "RFC822.SIZE"), new(FetchKind.Envelope, "ENVELOPE"), new(FetchKind.Body, "BODY")]);
                    return true;
            }
            return TryItem(spec, items, out error);
        }
        if (!spec.IsList || spec.Items.Count == 0)
        {
            error = "Invalid fetch items";
            return false;
        }
        foreach (var t in spec.Items)
        {
            if (!TryItem(t, items, out error))
                return false;
        }
        return true;
    }

    private static bool TryItem(ImapToken t, List<FetchItem> items, out string error)
    {
        error = string.Empty;
        if (t.Kind != ImapTokenKind.Atom)
        {
            error = "Invalid fetch item";
            return false;
        }
        var text = t.Text;
        var upper = text.ToUpperInvariant();
        switch (upper)
        {
            case "FLAGS": items.Add(new(FetchKind.Flags, "FLAGS")); return true;
            case "UID": items.Add(new(FetchKind.Uid, "UID")); return true;
            case "INTERNALDATE": items.Add(new(FetchKind.InternalDate, "INTERNALDATE")); return true;
            case "RFC822.SIZE": items.Add(new(FetchKind.Size, "RFC822.SIZE")); return true;
            case "ENVELOPE": items.Add(new(FetchKind.Envelope, "ENVELOPE")); return true;
            case "BODY": items.Add(new(FetchKind.Body, "BODY")); return true;
            case "BODYSTRUCTURE": items.Add(new(FetchKind.BodyStructure, "BODYSTRUCTURE")); return true;
            case "MODSEQ": items.Add(new(FetchKind.ModSeq, "MODSEQ")); return true;
            case "RFC822": items.Add(new(FetchKind.Section, "RFC822", "", Peek: false)); return true;
            case "RFC822.HEADER": items.Add(new(FetchKind.Section, "RFC822.HEADER", "HEADER", Peek: true)); return true;
            case "RFC822.TEXT": items.Add(new(FetchKind.Section, "RFC822.TEXT", "TEXT", Peek: false)); return true;
        }
        bool binary = upper.StartsWith("BINARY", StringComparison.Ordinal);
        bool size = upper.StartsWith("BINARY.SIZE[", StringComparison.Ordinal);
        bool peek = upper.StartsWith("BODY.PEEK[", StringComparison.Ordinal) || upper.StartsWith("BINARY.PEEK[", StringComparison.Ordinal);
        if (!peek && !size && !upper.StartsWith("BODY[", StringComparison.Ordinal) && !upper.StartsWith("BINARY[", StringComparison.Ordinal))
        {
            error = $"Unknown fetch item {text}";
            return false;
        }
        int open = text.IndexOf('[', StringComparison.Ordinal);
        int close = text.IndexOf(']', open);
        if (close < 0)
        {
            error = "Missing ]";
            return false;
        }
        var section = text[(open + 1)..close];
        if (binary && section.Any(ch => !char.IsAsciiDigit(ch) && ch != '.') || binary && section.EndsWith('.'))
        {
            error = "BINARY takes part numbers only";
            return false;
        }
        if (!IsValidSection(section))
        {
            error = $"Invalid section {section}";
            return false;
        }
        var rest = text[(close + 1)..];
        if (size)
        {
            if (rest.Length > 0)
            {
                error = "BINARY.SIZE takes no partial";
                return false;
            }
            items.Add(new FetchItem(FetchKind.BinarySize, $"BINARY.SIZE[{section}]", section));
            return true;
        }
        long? start = null, length = null;
        if (rest.Length > 0)
        {
            // <start.length>
            if (rest[0] != '<' || rest[^1] != '>')
            {
                error = "Invalid partial";
                return false;
            }
            var p = rest[1..^1].Split('.');
            if (p.Length != 2 || !long.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out var s) || !long.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out var l) || l == 0)
            {
                error = "Invalid partial";
                return false;
            }
            (start, length) = (s, l);
        }
        var name = (binary ? "BINARY" : "BODY") + $"[{section}]" + (start is null ? string.Empty : $"<{start.Value.ToString(CultureInfo.InvariantCulture)}>");
        items.Add(new FetchItem(binary ? FetchKind.Binary : FetchKind.Section, name, section, start, length, peek));
        return true;
    }

    /// <summary>section-spec of RFC 3501: part numbers, then HEADER, HEADER.FIELDS[.NOT] (list), TEXT or MIME.</summary>
    internal static bool IsValidSection(string section)
    {
        var s = section.ToUpperInvariant();
        int i = 0;
        bool numbered = false;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            int j = i;
            while (j < s.Length && char.IsAsciiDigit(s[j]))
                j++;
            if (s[i] == '0')
                return false;
            numbered = true;
            i = j;
            if (i == s.Length)
                return true;
            if (s[i] != '.')
                return false;
            i++;
        }
        var rest = s[i..];
        if (rest is "" && !numbered || rest is "HEADER" or "TEXT" || rest == "MIME" && numbered)
            return true;
        if (rest.StartsWith("HEADER.FIELDS ", StringComparison.Ordinal) || rest.StartsWith("HEADER.FIELDS.NOT ", StringComparison.Ordinal))
        {
            var list = rest[(rest.IndexOf(' ', StringComparison.Ordinal) + 1)..];
            return list.Length > 2 && list[0] == '(' && list[^1] == ')' && list[1..^1].Trim().Length > 0;
        }
        return false;
    }
}
