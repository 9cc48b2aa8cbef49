namespace MailCloud.Data;

/// <summary>
/// Message flags as stored in a mailbox row: system flags and keywords separated by single spaces, in ordinal
/// order, so two equal flag sets are equal strings.
/// </summary>
public static class MessageFlags
{
    public const string Seen = "\\Seen";
    public const string Deleted = "\\Deleted";

    public static readonly IReadOnlyList<string> System = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];

    public static SortedSet<string> Parse(string? flags) =>
        new(string.IsNullOrEmpty(flags) ? [] : flags.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Canonical), StringComparer.Ordinal);

    public static string Format(IEnumerable<string> flags) =>
        string.Join(' ', new SortedSet<string>(flags.Select(Canonical), StringComparer.Ordinal));

    public static bool Has(string? flags, string flag) =>
        !string.IsNullOrEmpty(flags) && flags.Split(' ').Contains(Canonical(flag), StringComparer.Ordinal);

    /// <summary>System flags are case-insensitive (RFC 3501 2.3.2): stored in their canonical spelling.</summary>
    public static string Canonical(string flag) =>
        flag.StartsWith('\\') ? System.FirstOrDefault(f => string.Equals(f, flag, StringComparison.OrdinalIgnoreCase)) ?? flag : flag;
}
