using System.Globalization;
using System.Text;

namespace MailCloud.Data;

/// <summary>How a flag change edits a message's flag set: IMAP's FLAGS, +FLAGS and -FLAGS.</summary>
public enum FlagEditMode
{
    Replace,
    Add,
    Remove,
}

/// <summary>
/// A flag change as data, not a closure, so it can be kept in a <see cref="FlagRun"/> and applied again when a row
/// is read. Flags are IMAP atoms (no spaces or control characters), stored in their canonical spelling.
/// </summary>
public sealed record FlagEdit
{
    public FlagEdit(FlagEditMode mode, IEnumerable<string> flags)
    {
        Mode = mode;
        Flags = [.. new SortedSet<string>(flags.Select(MessageFlags.Canonical), StringComparer.Ordinal)];
    }

    public FlagEditMode Mode { get; }
    public IReadOnlyList<string> Flags { get; }

    public static FlagEdit Add(params string[] flags) => new(FlagEditMode.Add, flags);
    public static FlagEdit Remove(params string[] flags) => new(FlagEditMode.Remove, flags);
    public static FlagEdit Replace(params string[] flags) => new(FlagEditMode.Replace, flags);

    public void Apply(SortedSet<string> set)
    {
        switch (Mode)
        {
            case FlagEditMode.Add:
                set.UnionWith(Flags);
                break;
            case FlagEditMode.Remove:
                set.ExceptWith(Flags);
                break;
            default:
                set.Clear();
                set.UnionWith(Flags);
                break;
        }
    }

    /// <summary>Whether applying this edit would change <paramref name="set"/>.</summary>
    public bool Changes(SortedSet<string> set) => Mode switch
    {
        FlagEditMode.Add => Flags.Any(f => !set.Contains(f)),
        FlagEditMode.Remove => Flags.Any(set.Contains),
        _ => !set.SetEquals(Flags),
    };

    /// <summary>The stored flag string after this edit.</summary>
    public string Apply(string flags)
    {
        var set = MessageFlags.Parse(flags);
        Apply(set);
        return MessageFlags.Format(set);
    }

    internal char Symbol => Mode switch { FlagEditMode.Add => '+', FlagEditMode.Remove => '-', _ => '=' };

    internal static FlagEditMode? ModeOf(string symbol) => symbol switch { "+" => FlagEditMode.Add, "-" => FlagEditMode.Remove, "=" => FlagEditMode.Replace, _ => null };
}

/// <summary>One flag change on every message of a folder with a UID in [<see cref="FirstUid"/>, <see cref="LastUid"/>] whose row is older than <see cref="ModSeq"/>.</summary>
public sealed record FlagRun(long ModSeq, long FirstUid, long LastUid, FlagEdit Edit);

/// <summary>
/// Flag changes on long runs of messages (a STORE 1:* +FLAGS \Seen, "mark all read"), kept as records in a column
/// of the folder's state row (<see cref="Column"/>) instead of as a write to every message row: the change costs one
/// write however many messages it names, where writing the rows cost one transaction per 99 of them.
/// <para>A message's flags are its row's flags with every run that covers its UID and is newer than the row's MODSEQ
/// applied in MODSEQ order; its MODSEQ is that of the last run that changed them (<see cref="Compose"/>). Every read
/// of message rows in <see cref="MailboxStore"/> composes them, so callers only ever see the result. A row written
/// later (a single-message STORE, a fold) carries a higher MODSEQ and the older runs no longer apply to it. New
/// messages get UIDs above every run and a higher MODSEQ, so runs never reach them.</para>
/// <para>Beyond <see cref="FoldAbove"/> the oldest are folded into their rows in the background (the rows take a
/// run's flags and MODSEQ, which changes nothing a reader sees) and dropped; at <see cref="MaxRuns"/> the STORE
/// that would add one more folds first.</para>
/// </summary>
public static class FlagRuns
{
    public const string Column = "Runs";

    /// <summary>Runs a folder may hold: a STORE that would add more first folds the oldest into the rows itself.</summary>
    public const int MaxRuns = 100;

    /// <summary>Runs above which a STORE that adds one folds the oldest in the background, after it has answered.</summary>
    public const int FoldAbove = 50;

    /// <summary>Fewest messages one run is kept for; shorter stretches are written row by row.</summary>
    public const int MinimumLength = 64;

    /// <summary>The runs of a folder row's column, oldest first; an entry that does not parse is an error, not skipped (skipping would show wrong flags).</summary>
    public static IReadOnlyList<FlagRun> Parse(string? column)
    {
        if (string.IsNullOrEmpty(column))
            return [];
        var runs = new List<FlagRun>();
        foreach (var line in column.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length < 4
                || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var modSeq)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
                || FlagEdit.ModeOf(parts[3]) is not { } mode)
                throw new FormatException($"Unreadable flag run '{line}'.");
            runs.Add(new FlagRun(modSeq, first, last, new FlagEdit(mode, parts.Skip(4))));
        }
        runs.Sort((a, b) => a.ModSeq.CompareTo(b.ModSeq));
        return runs;
    }

    public static string Format(IEnumerable<FlagRun> runs)
    {
        var sb = new StringBuilder();
        foreach (var r in runs.OrderBy(r => r.ModSeq))
        {
            if (sb.Length > 0)
                sb.Append('\n');
            sb.Append(CultureInfo.InvariantCulture, $"{r.ModSeq} {r.FirstUid} {r.LastUid} {r.Edit.Symbol}");
            foreach (var f in r.Edit.Flags)
                sb.Append(' ').Append(f);
        }
        return sb.ToString();
    }

    /// <summary>A message's flags and MODSEQ: its row's, with the runs newer than the row applied (the row's flags are parsed once, and only when a run covers it).</summary>
    public static (string Flags, long ModSeq) Compose(IReadOnlyList<FlagRun> runs, long uid, string flags, long modSeq)
    {
        SortedSet<string>? set = null;
        bool changed = false;
        var rowModSeq = modSeq;
        for (int i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            if (run.ModSeq <= rowModSeq || uid < run.FirstUid || uid > run.LastUid)
                continue;
            set ??= MessageFlags.Parse(flags);
            if (!run.Edit.Changes(set))
                continue;
            run.Edit.Apply(set);
            modSeq = run.ModSeq;
            changed = true;
        }
        return changed ? (MessageFlags.Format(set!), modSeq) : (flags, modSeq);
    }
}
