using System.Buffers;
using System.Text;

namespace MailCloud.Smtp;

/// <summary>
/// Parses one command line (terminator removed) into a <see cref="SmtpCommand"/>. Works on bytes, knows nothing of
/// sockets or session state; every failure is a reply the session sends back, never an exception.
/// </summary>
public static class SmtpCommandParser
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly Dictionary<string, SmtpVerb> Verbs = new(StringComparer.OrdinalIgnoreCase)
    {
        ["HELO"] = SmtpVerb.Helo, ["EHLO"] = SmtpVerb.Ehlo, ["MAIL"] = SmtpVerb.Mail, ["RCPT"] = SmtpVerb.Rcpt,
        ["DATA"] = SmtpVerb.Data, ["BDAT"] = SmtpVerb.Bdat, ["RSET"] = SmtpVerb.Rset, ["NOOP"] = SmtpVerb.Noop,
        ["QUIT"] = SmtpVerb.Quit, ["VRFY"] = SmtpVerb.Vrfy, ["EXPN"] = SmtpVerb.Expn, ["HELP"] = SmtpVerb.Help,
        ["STARTTLS"] = SmtpVerb.StartTls, ["AUTH"] = SmtpVerb.Auth,
    };

    public static bool TryParse(in ReadOnlySequence<byte> line, out SmtpCommand command, out SmtpReply error)
    {
        command = null!;
        error = SmtpReply.SyntaxError;
        string text;
        try
        {
            text = StrictUtf8.GetString(line);
        }
        catch (DecoderFallbackException)
        {
            error = new SmtpReply(500, "5.5.2", "Invalid UTF-8 in command");
            return false;
        }
        if (text.Any(c => c < 0x20 && c != '\t' || c == 0x7f))
        {
            error = new SmtpReply(500, "5.5.2", "Control characters in command");
            return false;
        }

        int space = text.IndexOf(' ', StringComparison.Ordinal);
        var verbText = space < 0 ? text : text[..space];
        var argument = space < 0 ? string.Empty : text[(space + 1)..].Trim();
        if (!Verbs.TryGetValue(verbText, out var verb))
        {
            error = verbText.Length == 0 ? SmtpReply.SyntaxError : new SmtpReply(500, "5.5.2", $"Command unrecognized: {Printable(verbText)}");
            return false;
        }

        switch (verb)
        {
            case SmtpVerb.Mail:
                return TryParsePathCommand(verb, argument, "FROM:", allowNull: true, out command, out error);
            case SmtpVerb.Rcpt:
                return TryParsePathCommand(verb, argument, "TO:", allowNull: false, out command, out error);
            case SmtpVerb.Helo or SmtpVerb.Ehlo:
                if (argument.Length == 0)
                {
                    error = new SmtpReply(501, "5.5.4", $"Syntax: {verbText.ToUpperInvariant()} hostname");
                    return false;
                }
                break;
            case SmtpVerb.Data or SmtpVerb.Rset or SmtpVerb.Quit or SmtpVerb.StartTls:
                if (argument.Length > 0)
                {
                    error = new SmtpReply(501, "5.5.4", $"Syntax: {verbText.ToUpperInvariant()} takes no arguments");
                    return false;
                }
                break;
        }
        command = new SmtpCommand(verb, argument);
        return true;
    }

    private static bool TryParsePathCommand(SmtpVerb verb, string argument, string prefix, bool allowNull, out SmtpCommand command, out SmtpReply error)
    {
        command = null!;
        var syntax = new SmtpReply(501, "5.5.4", $"Syntax: {(verb == SmtpVerb.Mail ? "MAIL FROM:<address>" : "RCPT TO:<address>")} [parameters]");
        error = syntax;
        if (!argument.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            return false;
        var rest = argument[prefix.Length..].TrimStart(); // a space after the colon is not RFC, but common
        if (rest.Length == 0 || rest[0] != '<')
            return false;

        // Find the closing '>' outside a quoted local part.
        bool quoted = false;
        int close = -1;
        for (int i = 1; i < rest.Length; i++)
        {
            if (rest[i] == '\\' && quoted)
            {
                i++;
                continue;
            }
            if (rest[i] == '"')
                quoted = !quoted;
            else if (rest[i] == '>' && !quoted)
            {
                close = i;
                break;
            }
        }
        if (close < 0)
            return false;
        var path = rest[1..close];
        // RFC 5321 4.1.1.3: source routes are accepted and ignored; only the final mailbox counts.
        if (path.StartsWith('@'))
        {
            int colon = path.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
                return false;
            path = path[(colon + 1)..];
        }
        if (path.Length == 0 && !allowNull)
            return false;

        var parameters = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in rest[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = p.IndexOf('=', StringComparison.Ordinal);
            var key = (eq < 0 ? p : p[..eq]).ToUpperInvariant();
            if (key.Length == 0 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                error = new SmtpReply(501, "5.5.4", $"Malformed parameter {Printable(p)}");
                return false;
            }
            var value = eq < 0 ? null : p[(eq + 1)..];
            if (value is not null && key is "ENVID" or "ORCPT")
            {
                if (!TryDecodeXtext(value, out var decoded))
                {
                    error = new SmtpReply(501, "5.5.4", $"Malformed xtext in {key}");
                    return false;
                }
                value = decoded;
            }
            if (!parameters.TryAdd(key, value))
            {
                error = new SmtpReply(501, "5.5.4", $"Duplicate parameter {key}");
                return false;
            }
        }
        command = new SmtpCommand(verb, argument, path, parameters);
        error = SmtpReply.Ok;
        return true;
    }

    /// <summary>RFC 3461 xtext: "+XX" is a hex-encoded byte.</summary>
    internal static bool TryDecodeXtext(string value, out string decoded)
    {
        var bytes = new List<byte>(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] == '+')
            {
                if (i + 2 >= value.Length || !byte.TryParse(value.AsSpan(i + 1, 2), System.Globalization.NumberStyles.HexNumber, null, out var b))
                {
                    decoded = string.Empty;
                    return false;
                }
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(value[i].ToString()));
            }
        }
        decoded = Encoding.UTF8.GetString(bytes.ToArray());
        return true;
    }

    private static string Printable(string s) => s.Length > 40 ? s[..40] + "..." : s;
}
