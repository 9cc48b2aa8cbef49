using System.Collections.Concurrent;
using MailCloud.Data;

namespace MailCloud.Imap;

/// <summary>
/// What a session keeps per message of its selected folder: 40 bytes, flags shared between messages and sessions
/// (a 10,000-message folder costs a session about 400 KB). Blob names and summaries stay in the table.
/// </summary>
internal readonly record struct ViewMessage(long Uid, long ModSeq, long Size, long InternalDateTicks, string Flags)
{
    private static readonly ConcurrentDictionary<string, string> Shared = new(StringComparer.Ordinal);

    public DateTimeOffset InternalDate => new(InternalDateTicks, TimeSpan.Zero);

    public static ViewMessage From(MailboxMessage m) => new(m.Uid, m.ModSeq, m.Size, m.InternalDate.UtcTicks, Share(m.Flags));

    /// <summary>One string per distinct flag set (bounded, so clients inventing keywords cannot grow it forever).</summary>
    public static string Share(string flags)
    {
        if (flags.Length == 0)
            return string.Empty;
        if (Shared.TryGetValue(flags, out var shared))
            return shared;
        return Shared.Count < 10_000 ? Shared.GetOrAdd(flags, flags) : flags;
    }

    /// <summary>For the store's expunge, which reads blob names and message ids from the rows themselves.</summary>
    public MailboxMessage ToMailboxMessage() => new(Uid, Size, string.Empty, string.Empty, Flags, ModSeq, InternalDate);
}

/// <summary>
/// A session's view of its selected folder: the messages in sequence order (index + 1 = sequence number), the
/// MODSEQ it has caught up to, and the UIDs other sessions expunged that it has not reported yet.
/// </summary>
internal sealed class SelectedFolder(string name, bool readOnly, long uidValidity, long highestModSeq, long uidNext, List<ViewMessage> messages, FolderWatcher.Subscription watch)
{
    public string Name { get; } = name;
    public bool ReadOnly { get; } = readOnly;
    public long UidValidity { get; } = uidValidity;
    public long HighestModSeq { get; set; } = highestModSeq;
    public long UidNext { get; set; } = uidNext;
    public List<ViewMessage> Messages { get; } = messages;
    public HashSet<long> Expunged { get; } = [];

    /// <summary>Keywords the client has been told of in FLAGS/PERMANENTFLAGS (a FETCH may show no other).</summary>
    public HashSet<string> Keywords { get; } = new(StringComparer.Ordinal);

    /// <summary>Messages that are \Recent in this session (IMAP4rev1: it was the first to be told of them).</summary>
    public HashSet<long> Recent { get; } = [];
    public FolderWatcher.Subscription Watch { get; } = watch;
    public long SeenVersion = watch.Version;

    /// <summary>
    /// After this session's own flag update: its view is already current, so when nothing else changed the folder
    /// (the MODSEQ steps follow on from what the view knew) it moves its MODSEQ on and skips re-reading the change.
    /// </summary>
    public void OwnUpdate(FlagUpdateResult result)
    {
        if (result.Steps.Count == 0)
            return;
        if (result.ContinuesFrom(HighestModSeq) is { } now)
        {
            HighestModSeq = now;
            FolderWatcher.NotifyOwn(Watch, ref SeenVersion);
        }
        else
            Watch.Signal(); // others changed it too: everyone, this session included, catches up
    }

    public long LargestUid => Messages.Count == 0 ? 0 : Messages[^1].Uid;

    /// <summary>Index of a UID in <see cref="Messages"/> (UID order), or -1.</summary>
    public int IndexOf(long uid)
    {
        int lo = 0, hi = Messages.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            var u = Messages[mid].Uid;
            if (u == uid)
                return mid;
            if (u < uid)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        return -1;
    }

    /// <summary>Indexes named by a sequence set: message numbers, or UIDs with <paramref name="uid"/>.</summary>
    public List<int> Resolve(SequenceSet set, bool uid)
    {
        var list = new List<int>();
        if (uid)
        {
            var largest = LargestUid;
            for (int i = 0; i < Messages.Count; i++)
            {
                if (set.Contains(Messages[i].Uid, largest))
                    list.Add(i);
            }
        }
        else
        {
            for (int i = 0; i < Messages.Count; i++)
            {
                if (set.Contains(i + 1, Messages.Count))
                    list.Add(i);
            }
        }
        return list;
    }
}
