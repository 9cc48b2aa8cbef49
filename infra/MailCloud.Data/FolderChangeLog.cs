using System.Globalization;
using System.Text;

namespace MailCloud.Data;

/// <summary>What changed in a folder between two MODSEQs: rows changed or added (current state) and UIDs expunged.</summary>
public sealed record FolderChangeSet(IReadOnlyList<MailboxMessage> Changed, IReadOnlySet<long> Expunged);

/// <summary>
/// A folder's recent changes, kept in a column of its state row (<see cref="Column"/>): every transaction that changes
/// the folder's messages already rewrites that row, and now also appends <c>MODSEQ:changed:expunged</c> (UID ranges)
/// to it. Catching up from a MODSEQ then costs the state-row read a session makes anyway plus reads of just the rows
/// named — no scan of the folder, no request of its own, no extra rows. The column keeps the newest changes up to
/// <see cref="MaxLength"/> characters; a session further behind, or a folder changed before the log existed, gets
/// null and reads the folder the old way.
/// </summary>
public static class FolderChangeLog
{
    public const string Column = "Log";

    /// <summary>About 30 single-message changes of a large folder, or a dozen 98-message STOREs.</summary>
    public const int MaxLength = 4000;

    /// <summary>The log with one more change appended, oldest changes dropped to stay within <see cref="MaxLength"/>.</summary>
    public static string Append(string? log, long modSeq, IEnumerable<long> changed, IEnumerable<long> expunged)
    {
        var entry = $"{modSeq.ToString(CultureInfo.InvariantCulture)}:{Ranges(changed)}:{Ranges(expunged)}";
        var all = string.IsNullOrEmpty(log) ? entry : log + ";" + entry;
        while (all.Length > MaxLength && all.IndexOf(';', StringComparison.Ordinal) is var cut and >= 0)
            all = all[(cut + 1)..];
        return all.Length > MaxLength ? string.Empty : all; // one change too large to keep: the log starts afresh after it
    }

    /// <summary>The UIDs changed and expunged after <paramref name="since"/> up to <paramref name="highest"/>, or null when the log does not hold them all.</summary>
    public static (HashSet<long> Changed, HashSet<long> Expunged)? Read(string? log, long since, long highest)
    {
        var changed = new HashSet<long>();
        var expunged = new HashSet<long>();
        if (since >= highest)
            return (changed, expunged);
        if (string.IsNullOrEmpty(log))
            return null;
        long expect = since + 1;
        foreach (var entry in log.Split(';'))
        {
            var parts = entry.Split(':');
            if (parts.Length != 3 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var modSeq))
                return null;
            if (modSeq <= since || modSeq > highest)
                continue;
            if (modSeq != expect)
                return null; // a gap: dropped from the front, or a change made without the log
            expect++;
            changed.UnionWith(Uids(parts[1]));
            expunged.UnionWith(Uids(parts[2]));
        }
        if (expect != highest + 1)
            return null;
        changed.ExceptWith(expunged); // UIDs are never reused: once expunged, gone
        return (changed, expunged);
    }

    /// <summary>Sorted UIDs as ranges: "1-98" for a STORE 1:98, "5,9,12-14" otherwise.</summary>
    private static string Ranges(IEnumerable<long> uids)
    {
        var sb = new StringBuilder();
        long start = -1, prev = -1;
        void Flush()
        {
            if (start < 0)
                return;
            if (sb.Length > 0)
                sb.Append(',');
            sb.Append(start.ToString(CultureInfo.InvariantCulture));
            if (prev > start)
                sb.Append('-').Append(prev.ToString(CultureInfo.InvariantCulture));
        }
        foreach (var uid in uids.Distinct().Order())
        {
            if (uid != prev + 1 || start < 0)
            {
                Flush();
                start = uid;
            }
            prev = uid;
        }
        Flush();
        return sb.ToString();
    }

    private static IEnumerable<long> Uids(string ranges)
    {
        if (ranges.Length == 0)
            yield break;
        foreach (var part in ranges.Split(','))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                if (long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var one))
                    yield return one;
                continue;
            }
            if (long.TryParse(part.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                && long.TryParse(part.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var last))
            {
                for (var uid = first; uid <= last; uid++)
                    yield return uid;
            }
        }
    }
}
