using System.Globalization;

namespace MailCloud.Core;

/// <summary>Durations in MAILCLOUD_* settings: "30s", "5m", "2h", "5d", or a TimeSpan ("00:05:00").</summary>
public static class Durations
{
    public static TimeSpan Parse(string text)
    {
        text = text.Trim();
        if (text.Length > 1 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
        {
            switch (char.ToLowerInvariant(text[^1]))
            {
                case 's': return TimeSpan.FromSeconds(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'd': return TimeSpan.FromDays(n);
            }
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var t) ? t : throw new FormatException($"'{text}' is not a duration (e.g. 30s, 5m, 2h, 5d)");
    }
}
