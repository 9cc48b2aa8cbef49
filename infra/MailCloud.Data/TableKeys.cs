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
}
