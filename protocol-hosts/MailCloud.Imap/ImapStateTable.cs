namespace MailCloud.Imap;

public enum ImapState
{
    NotAuthenticated,
    Authenticated,
    Selected,
    Logout,
}

/// <summary>Which commands each state accepts (RFC 3501 6, RFC 9051 6), as data rather than scattered checks.</summary>
public static class ImapStateTable
{
    private static readonly ImapState[] Any = [ImapState.NotAuthenticated, ImapState.Authenticated, ImapState.Selected];
    private static readonly ImapState[] NotAuthenticated = [ImapState.NotAuthenticated];
    private static readonly ImapState[] Authenticated = [ImapState.Authenticated, ImapState.Selected];
    private static readonly ImapState[] Selected = [ImapState.Selected];

    private static readonly Dictionary<string, ImapState[]> Allowed = new(StringComparer.Ordinal)
    {
        ["CAPABILITY"] = Any,
        ["NOOP"] = Any,
        ["LOGOUT"] = Any,
        ["ID"] = Any,
        ["STARTTLS"] = NotAuthenticated,
        ["AUTHENTICATE"] = NotAuthenticated,
        ["LOGIN"] = NotAuthenticated,
        ["ENABLE"] = Authenticated,
        ["COMPRESS"] = Authenticated,
        ["SELECT"] = Authenticated,
        ["EXAMINE"] = Authenticated,
        ["CREATE"] = Authenticated,
        ["DELETE"] = Authenticated,
        ["RENAME"] = Authenticated,
        ["SUBSCRIBE"] = Authenticated,
        ["UNSUBSCRIBE"] = Authenticated,
        ["LIST"] = Authenticated,
        ["LSUB"] = Authenticated,
        ["NAMESPACE"] = Authenticated,
        ["STATUS"] = Authenticated,
        ["APPEND"] = Authenticated,
        ["IDLE"] = Authenticated,
        ["GETQUOTA"] = Authenticated,
        ["GETQUOTAROOT"] = Authenticated,
        ["SETQUOTA"] = Authenticated,
        ["CHECK"] = Selected,
        ["CLOSE"] = Selected,
        ["UNSELECT"] = Selected,
        ["EXPUNGE"] = Selected,
        ["SEARCH"] = Selected,
        ["FETCH"] = Selected,
        ["STORE"] = Selected,
        ["COPY"] = Selected,
        ["MOVE"] = Selected,
    };

    /// <summary>Commands that take the UID prefix.</summary>
    private static readonly HashSet<string> UidCommands = ["FETCH", "STORE", "SEARCH", "COPY", "MOVE", "EXPUNGE"];

    public static bool IsKnown(string command) => Allowed.ContainsKey(command);

    public static bool IsAllowed(ImapState state, ImapCommand command) =>
        Allowed.TryGetValue(command.Name, out var states) && states.Contains(state) && (!command.Uid || UidCommands.Contains(command.Name));
}
