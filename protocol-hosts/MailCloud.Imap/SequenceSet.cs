using System.Globalization;

namespace MailCloud.Imap;

/// <summary>
/// An IMAP sequence set ("1:4,7,9:*"): ranges of message numbers or UIDs; '*' is the largest number in use
/// (RFC 3501 9, "seq-number"). Ranges are unordered ("5:2" is 2:5).
/// </summary>
public sealed class SequenceSet
{
    private const long Star = long.MaxValue;
    private readonly List<(long From, long To)> _ranges;

    private SequenceSet(List<(long, long)> ranges) => _ranges = ranges;

    public static bool TryParse(string text, out SequenceSet set)
    {
        set = new SequenceSet([]);
        if (text.Length == 0 || text.Length > 100_000)
            return false;
        foreach (var part in text.Split(','))
        {
            var bounds = part.Split(':');
            if (bounds.Length is < 1 or > 2 || !TryNumber(bounds[0], out var a))
                return false;
            var b = a;
            if (bounds.Length == 2 && !TryNumber(bounds[1], out b))
                return false;
            set._ranges.Add((a, b));
        }
        return true;
    }

    private static bool TryNumber(string s, out long n)
    {
        n = 0;
        if (s == "*")
        {
            n = Star;
            return true;
        }
        return long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out n) && n is > 0 and <= uint.MaxValue;
    }

    /// <summary>Whether <paramref name="n"/> is in the set, with '*' standing for <paramref name="largest"/>.</summary>
    public bool Contains(long n, long largest)
    {
        foreach (var (f, t) in _ranges)
        {
            var a = f == Star ? largest : f;
            var b = t == Star ? largest : t;
            if (a > b)
                (a, b) = (b, a);
            if (n >= a && n <= b)
                return true;
        }
        return false;
    }

    /// <summary>The smallest and largest numbers the set can name, '*' as <paramref name="largest"/>.</summary>
    public (long Min, long Max) Bounds(long largest)
    {
        long min = long.MaxValue, max = 0;
        foreach (var (f, t) in _ranges)
        {
            var a = f == Star ? largest : f;
            var b = t == Star ? largest : t;
            min = Math.Min(min, Math.Min(a, b));
            max = Math.Max(max, Math.Max(a, b));
        }
        return (min, max);
    }

    /// <summary>Message numbers beyond the mailbox's size (for the BAD that RFC 9051 asks for on sequence numbers).</summary>
    public bool HasNumberAbove(long largest) =>
        _ranges.Any(r => r.From != Star && r.From > largest || r.To != Star && r.To > largest);

    public override string ToString() =>
        string.Join(',', _ranges.Select(r => r.From == r.To ? N(r.From) : $"{N(r.From)}:{N(r.To)}"));

    private static string N(long n) => n == Star ? "*" : n.ToString(CultureInfo.InvariantCulture);

    /// <summary>Compact text of sorted numbers: 1,2,3,7 becomes "1:3,7" (for COPYUID and ESEARCH-like replies).</summary>
    public static string Compact(IEnumerable<long> numbers)
    {
        var parts = new List<string>();
        long start = -1, prev = -1;
        foreach (var n in numbers)
        {
            if (start < 0)
                start = prev = n;
            else if (n == prev + 1)
                prev = n;
            else
            {
                parts.Add(start == prev ? N(start) : $"{N(start)}:{N(prev)}");
                start = prev = n;
            }
        }
        if (start >= 0)
            parts.Add(start == prev ? N(start) : $"{N(start)}:{N(prev)}");
        return string.Join(',', parts);
    }
}
