using System.Buffers;
using System.Text;

namespace MailCloud.Pop3;

public enum Pop3Verb
{
    User, Pass, Auth, Stls, Capa, Quit, Stat, List, Uidl, Retr, Top, Dele, Rset, Noop,
}

public sealed record Pop3Command(Pop3Verb Verb, IReadOnlyList<string> Arguments);

/// <summary>Parses one POP3 command line (terminator removed). Bytes in, no sockets; failures are "-ERR" texts.</summary>
public static class Pop3CommandParser
{
    /// <summary>RFC 2449: command lines are at most 255 octets.</summary>
    public const int MaxLength = 255;

    private static readonly Dictionary<string, Pop3Verb> Verbs = Enum.GetValues<Pop3Verb>().ToDictionary(v => v.ToString().ToUpperInvariant(), StringComparer.OrdinalIgnoreCase);

    public static bool TryParse(in ReadOnlySequence<byte> line, out Pop3Command command, out string error)
    {
        command = null!;
        error = string.Empty;
        if (line.Length > MaxLength)
        {
            error = "Command line too long";
            return false;
        }
        var text = Encoding.Latin1.GetString(line);
        if (text.Any(c => c < 0x20 && c != '\t' || c > 0x7e && c < 0xa0))
        {
            error = "Invalid characters in command";
            return false;
        }
        // PASS keeps its argument whole: passwords may contain spaces.
        var verbEnd = text.IndexOf(' ', StringComparison.Ordinal);
        var verbText = verbEnd < 0 ? text : text[..verbEnd];
        if (!Verbs.TryGetValue(verbText, out var verb))
        {
            error = verbText.Length == 0 ? "Empty command" : "Unknown command";
            return false;
        }
        var rest = verbEnd < 0 ? string.Empty : text[(verbEnd + 1)..];
        IReadOnlyList<string> args = verb == Pop3Verb.Pass
            ? (rest.Length > 0 ? [Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(rest))] : [])
            : rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        command = new Pop3Command(verb, args);
        return true;
    }
}

/// <summary>RFC 1939 states.</summary>
public enum Pop3State
{
    Authorization,
    Transaction,
}

/// <summary>Which commands each state admits (the state machine as data).</summary>
public static class Pop3StateTable
{
    private static readonly Dictionary<Pop3State, HashSet<Pop3Verb>> Allowed = new()
    {
        [Pop3State.Authorization] = [Pop3Verb.User, Pop3Verb.Pass, Pop3Verb.Auth, Pop3Verb.Stls, Pop3Verb.Capa, Pop3Verb.Quit],
        [Pop3State.Transaction] = [Pop3Verb.Stat, Pop3Verb.List, Pop3Verb.Uidl, Pop3Verb.Retr, Pop3Verb.Top, Pop3Verb.Dele, Pop3Verb.Rset, Pop3Verb.Noop, Pop3Verb.Quit, Pop3Verb.Capa],
    };

    public static bool IsAllowed(Pop3State state, Pop3Verb verb) => Allowed[state].Contains(verb);
}
