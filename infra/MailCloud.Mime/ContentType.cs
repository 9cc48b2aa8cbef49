using System.Text;

namespace MailCloud.Mime;

/// <summary>A parsed Content-Type or Content-Disposition: the value and its parameters (RFC 2045, RFC 2231).</summary>
public sealed class HeaderParameters
{
    public HeaderParameters(string value, IReadOnlyList<KeyValuePair<string, string>> parameters, IReadOnlyList<KeyValuePair<string, string>>? raw = null)
    {
        Value = value;
        Parameters = parameters;
        RawParameters = raw ?? parameters;
    }

    /// <summary>
    /// Parameters as written (names lower-case, values unquoted, RFC 2231 sections and encodings left alone): what
    /// IMAP's BODYSTRUCTURE passes on, as Dovecot and Cyrus do, so no decoded 8-bit text reaches IMAP4rev1 clients.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> RawParameters { get; }

    /// <summary>"text/plain" for a Content-Type (lower-case), "attachment" for a Content-Disposition.</summary>
    public string Value { get; }

    /// <summary>Parameters in order, names lower-case, values decoded (RFC 2231 continuations joined, charsets applied, RFC 2047 tolerated).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; }

    public string? this[string name] => Parameters.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>Parses "type/subtype; a=b; c*=utf-8''x%20y; d*0=...; d*1=...".</summary>
    public static HeaderParameters Parse(string? text, string fallback)
    {
        if (string.IsNullOrWhiteSpace(text))
            return new HeaderParameters(fallback, []);
        var t = new HeaderTokenizer(text);
        t.SkipCfws();
        var value = new StringBuilder();
        while (!t.AtEnd && t.Peek != ';')
        {
            if (t.Peek == '"')
                value.Append(t.ReadQuoted());
            else if (t.Peek == '(')
                t.SkipCfws();
            else if (t.Peek is ' ' or '\t' or '\r' or '\n')
                t.SkipCfws();
            else
                value.Append(t.ReadAtom(";"));
        }
        var raw = new List<(string Name, int? Section, bool Extended, string Value)>();
        var written = new List<KeyValuePair<string, string>>();
        while (!t.AtEnd)
        {
            if (t.Peek == ';')
                t.Position++;
            t.SkipCfws();
            if (t.AtEnd)
                break;
            var name = t.ReadAtom("=;").Trim();
            t.SkipCfws();
            string paramValue = string.Empty;
            if (t.Peek == '=')
            {
                t.Position++;
                t.SkipCfws();
                if (t.Peek == '"')
                    paramValue = t.ReadQuoted();
                else
                {
                    // Unquoted values with spaces are common in broken mail: take everything up to the next ';'.
                    var sb = new StringBuilder(t.ReadAtom(";"));
                    while (!t.AtEnd && t.Peek != ';')
                    {
                        if (t.Peek == '(')
                        {
                            t.SkipCfws();
                            continue;
                        }
                        sb.Append(t.Peek);
                        t.Position++;
                    }
                    paramValue = sb.ToString().TrimEnd();
                }
            }
            else if (name.Length == 0)
            {
                if (!t.AtEnd)
                    t.Position++;
                continue;
            }
            if (name.Length == 0)
                continue;
            raw.Add(ParseName(name, paramValue));
            written.Add(new(name.ToLowerInvariant(), paramValue));
        }
        return new HeaderParameters(value.ToString().Trim().ToLowerInvariant() is { Length: > 0 } v ? v : fallback, Combine(raw), written);
    }

    private static (string Name, int? Section, bool Extended, string Value) ParseName(string name, string value)
    {
        bool extended = name.EndsWith('*');
        var bare = extended ? name[..^1] : name;
        int? section = null;
        int star = bare.LastIndexOf('*');
        if (star > 0 && int.TryParse(bare.AsSpan(star + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
        {
            section = n;
            bare = bare[..star];
        }
        return (bare.ToLowerInvariant(), section, extended, value);
    }

    /// <summary>RFC 2231: joins name*0, name*1 ... in order; the first extended section carries charset'language'.</summary>
    private static List<KeyValuePair<string, string>> Combine(List<(string Name, int? Section, bool Extended, string Value)> raw)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var group in raw.GroupBy(r => r.Name))
        {
            var parts = group.ToList();
            var simple = parts.FirstOrDefault(p => p.Section is null);
            var sections = parts.Where(p => p.Section is not null).OrderBy(p => p.Section).ToList();
            string value;
            if (sections.Count > 0)
            {
                string? charset = null;
                var bytes = new List<byte>();
                var sb = new StringBuilder();
                for (int i = 0; i < sections.Count; i++)
                {
                    var s = sections[i];
                    if (s.Extended)
                    {
                        var v = s.Value;
                        if (i == 0 && TrySplitCharset(v, out var cs, out var rest))
                        {
                            charset = cs;
                            v = rest;
                        }
                        bytes.AddRange(PercentDecode(v));
                    }
                    else
                    {
                        if (bytes.Count > 0)
                        {
                            sb.Append(Charsets.Decode(bytes.ToArray(), charset ?? "utf-8"));
                            bytes.Clear();
                        }
                        sb.Append(s.Value);
                    }
                }
                if (bytes.Count > 0)
                    sb.Append(Charsets.Decode(bytes.ToArray(), charset ?? "utf-8"));
                value = sb.ToString();
            }
            else if (simple.Extended && TrySplitCharset(simple.Value, out var charset, out var rest))
            {
                value = Charsets.Decode(PercentDecode(rest), charset.Length == 0 ? "us-ascii" : charset);
            }
            else
            {
                // Many mailers put RFC 2047 words into parameters (filename="=?utf-8?B?...?="); decode them too.
                value = EncodedWords.Decode(simple.Value);
            }
            result.Add(new KeyValuePair<string, string>(group.Key, value));
        }
        return result;
    }

    private static bool TrySplitCharset(string value, out string charset, out string rest)
    {
        int q1 = value.IndexOf('\'', StringComparison.Ordinal);
        int q2 = q1 < 0 ? -1 : value.IndexOf('\'', q1 + 1);
        if (q2 < 0)
        {
            charset = string.Empty;
            rest = value;
            return false;
        }
        charset = value[..q1];
        rest = value[(q2 + 1)..];
        return true;
    }

    private static byte[] PercentDecode(string s)
    {
        var bytes = new List<byte>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '%' && i + 2 < s.Length && Uri.IsHexDigit(s[i + 1]) && Uri.IsHexDigit(s[i + 2]))
            {
                bytes.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
                bytes.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
        }
        return [.. bytes];
    }
}
