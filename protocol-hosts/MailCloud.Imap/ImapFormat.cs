using System.Globalization;
using System.Text;
using MailCloud.Mime;

namespace MailCloud.Imap;

/// <summary>How values are written in responses.</summary>
public static class ImapFormat
{
    /// <summary>A string as a quoted string, or a literal when it holds 8-bit or line-break characters.</summary>
    public static string String(string value)
    {
        var sb = new StringBuilder();
        ImapViews.NString(sb, value);
        return sb.ToString();
    }

    /// <summary>A mailbox name: an atom-safe name as is would do, but quoting always is simpler for clients too.</summary>
    public static string Mailbox(string name) => String(name);

    public static string Flags(string flags) => "(" + flags + ")";

    /// <summary>date-time of RFC 3501: "dd-MMM-yyyy HH:mm:ss +zzzz" with a space-padded day.</summary>
    public static string DateTime(DateTimeOffset value)
    {
        var d = value.ToUniversalTime();
        return "\"" + d.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2) + d.ToString("-MMM-yyyy HH:mm:ss", CultureInfo.InvariantCulture) + " +0000\"";
    }

    /// <summary>Parses an APPEND date-time ("17-Jul-1996 02:44:25 -0700").</summary>
    public static bool TryParseDateTime(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParseExact(text.Trim(), ["d-MMM-yyyy HH:mm:ss zzz", "dd-MMM-yyyy HH:mm:ss zzz"], CultureInfo.InvariantCulture, DateTimeStyles.AllowInnerWhite, out value)
        || DateTimeOffset.TryParseExact(InsertColon(text.Trim()), ["d-MMM-yyyy HH:mm:ss zzz", "dd-MMM-yyyy HH:mm:ss zzz"], CultureInfo.InvariantCulture, DateTimeStyles.AllowInnerWhite, out value);

    // .NET's zzz wants "+07:00"; IMAP writes "+0700".
    private static string InsertColon(string s) => s.Length > 5 && s[^5] is '+' or '-' ? s[..^2] + ":" + s[^2..] : s;

    public static string Number(long n) => n.ToString(CultureInfo.InvariantCulture);
}
