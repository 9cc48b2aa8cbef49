using System.Globalization;

namespace MailCloud.Core;

/// <summary>Parses and prints sizes such as <c>500M</c>, <c>2G</c>, <c>1.5GiB</c>, <c>1048576</c> (binary multiples).</summary>
public static class ByteSize
{
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        var s = text.Trim().ToUpperInvariant();
        int split = 0;
        while (split < s.Length && (char.IsAsciiDigit(s[split]) || s[split] == '.'))
            split++;
        if (split == 0 || !decimal.TryParse(s[..split], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            return false;
        long multiplier = s[split..].Trim() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => -1,
        };
        if (multiplier < 0)
            return false;
        try
        {
            bytes = (long)decimal.Round(number * multiplier);
        }
        catch (OverflowException)
        {
            return false;
        }
        return bytes >= 0;
    }

    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return u == 0 ? $"{bytes} B" : v.ToString(v >= 100 || v == Math.Floor(v) ? "0" : "0.#", CultureInfo.InvariantCulture) + " " + units[u];
    }
}
