using System.Globalization;

namespace MailCloud.Mime;

/// <summary>RFC 5322 dates, including the obsolete and broken forms real mail carries.</summary>
public static class DateParser
{
    private static readonly string[] Months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

    private static readonly Dictionary<string, int> Zones = new(StringComparer.OrdinalIgnoreCase)
    {
        ["UT"] = 0, ["UTC"] = 0, ["GMT"] = 0, ["Z"] = 0,
        ["EST"] = -5 * 60, ["EDT"] = -4 * 60, ["CST"] = -6 * 60, ["CDT"] = -5 * 60,
        ["MST"] = -7 * 60, ["MDT"] = -6 * 60, ["PST"] = -8 * 60, ["PDT"] = -7 * 60,
        ["CET"] = 60, ["CEST"] = 120, ["BST"] = 60, ["JST"] = 9 * 60,
    };

    public static bool TryParse(string? text, out DateTimeOffset date)
    {
        date = default;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        // Drop comments and the day name; split on whitespace and commas.
        var cleaned = System.Text.RegularExpressions.Regex.Replace(text, @"\([^)]*\)", " ");
        var tokens = cleaned.Split([' ', '\t', '\r', '\n', ','], StringSplitOptions.RemoveEmptyEntries).ToList();
        int? day = null, month = null, year = null;
        TimeSpan? time = null;
        int offsetMinutes = 0;
        foreach (var raw in tokens)
        {
            var tok = raw.TrimEnd('.');
            if (tok.Contains(':', StringComparison.Ordinal) && time is null)
            {
                var parts = tok.Split(':');
                // Digits only: a signed hour ("-0500000000:00") once reached the TimeSpan constructor and threw (found by afl++).
                if (parts.Length is 2 or 3 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var h) && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var m))
                {
                    int s = 0;
                    if (parts.Length == 3 && !int.TryParse(parts[2].Split('.')[0], NumberStyles.None, CultureInfo.InvariantCulture, out s))
                        return false;
                    if (h > 23 || m > 59 || s > 60)
                        return false;
                    time = new TimeSpan(h, m, Math.Min(s, 59));
                    continue;
                }
            }
            if ((tok.StartsWith('+') || tok.StartsWith('-')) && tok.Length == 5 && int.TryParse(tok.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var z))
            {
                offsetMinutes = (z / 100 * 60 + z % 100) * (tok[0] == '-' ? -1 : 1);
                continue;
            }
            if (Zones.TryGetValue(tok, out var zone))
            {
                offsetMinutes = zone;
                continue;
            }
            if (tok.Length >= 3 && Array.IndexOf(Months, tok[..3].ToLowerInvariant()) is var mi and >= 0 && month is null && char.IsLetter(tok[0]))
            {
                month = mi + 1;
                continue;
            }
            if (int.TryParse(tok, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                if (day is null && n is >= 1 and <= 31 && tok.Length <= 2)
                    day = n;
                else if (year is null)
                    year = tok.Length <= 2 ? (n < 50 ? 2000 + n : 1900 + n) : tok.Length == 3 ? 1900 + n : n;
                continue;
            }
            if (tok.Length == 1 && char.IsLetter(tok[0]))
            {
                continue; // military zones: RFC 5322 says treat as -0000
            }
        }
        if (day is null || month is null || year is null)
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out date);
        try
        {
            date = new DateTimeOffset(year.Value, month.Value, Math.Min(day.Value, DateTime.DaysInMonth(year.Value, month.Value)), 0, 0, 0, TimeSpan.FromMinutes(offsetMinutes)) + (time ?? TimeSpan.Zero);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>RFC 5322 date-time, e.g. "Tue, 24 Nov 2026 08:00:00 +0000".</summary>
    public static string Format(DateTimeOffset date)
    {
        var s = date.ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture);
        var o = date.Offset;
        return s + (o < TimeSpan.Zero ? "-" : "+") + Math.Abs(o.Hours).ToString("00", CultureInfo.InvariantCulture) + Math.Abs(o.Minutes).ToString("00", CultureInfo.InvariantCulture);
    }
}
