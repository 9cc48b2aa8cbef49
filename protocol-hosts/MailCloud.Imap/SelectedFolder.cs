using MailCloud.Data;

namespace MailCloud.Imap;

/// <summary>
/// A session's view of its selected folder: the messages in sequence order (index + 1 = sequence number), the
/// MODSEQ it has caught up to, and the UIDs other sessions expunged that it has not reported yet.
/// </summary>
internal sealed class SelectedFolder(string name, bool readOnly, long uidValidity, long highestModSeq, long uidNext, List<MailboxMessage> messages, FolderWatcher.Subscription watch)
{
    public string Name { get; } = name;
    public bool ReadOnly { get; } = readOnly;
    public long UidValidity { get; } = uidValidity;
    public long HighestModSeq { get; set; } = highestModSeq;
    public long UidNext { get; set; } = uidNext;
    public List<MailboxMessage> Messages { get; } = messages;
    public HashSet<long> Expunged { get; } = [];
    public FolderWatcher.Subscription Watch { get; } = watch;
    public long SeenVersion { get; set; } = watch.Version;

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
