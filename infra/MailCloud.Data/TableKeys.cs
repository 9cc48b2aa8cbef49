using System.Globalization;
using System.Text;

namespace MailCloud.Data;

/// <summary>
/// PartitionKey/RowKey may not contain '/', '\', '#', '?' or control characters, all of which are legal in a
/// local part. Those (and '%', the escape itself) are written as %XX so every address has exactly one key.
/// </summary>
public static class TableKeys
{
    public static string Escape(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (char c in value)
        {
            if (c is '/' or '\\' or '#' or '?' or '%' || char.IsControl(c))
                sb.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            else
                sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>The inverse of <see cref="Escape"/> (%XX back to the character).</summary>
    public static string Unescape(string value)
    {
        var sb = new StringBuilder(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length && int.TryParse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code))
            {
                sb.Append((char)code);
                i += 2;
            }
            else
                sb.Append(value[i]);
        }
        return sb.ToString();
    }
}
