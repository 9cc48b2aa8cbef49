using System.Globalization;
using Azure.Data.Tables;

namespace MailCloud.Data;

/// <summary>What changed in a folder between two MODSEQs: rows changed or added (current state) and UIDs expunged.</summary>
public sealed record FolderChangeSet(IReadOnlyList<MailboxMessage> Changed, IReadOnlySet<long> Expunged);

/// <summary>
/// A folder's change log: every transaction that changes a folder's messages also writes one row
/// <c>chg:FOLDER:UIDVALIDITY:MODSEQ</c> naming the UIDs it changed or added and those it expunged — in the same
/// entity-group transaction, so it costs no request of its own. Catching up from a MODSEQ is then a RowKey range
/// over the log rows after it plus reads of just the rows named, instead of a scan of the whole folder; a log that
/// does not reach back far enough (trimmed, or older than the log) makes the caller fall back to that scan. Only
/// the last <see cref="Kept"/> changes of a folder are kept.
/// </summary>
internal static class FolderChangeLog
{
    /// <summary>Changes kept per folder; a session further behind than this re-reads the folder.</summary>
    public const long Kept = 1000;

    /// <summary>Every how many changes a writer trims the log (best effort, outside its transaction).</summary>
    public const long TrimEvery = 100;

    private const string Changed = "Uids", Expunged = "Expunged";

    public static TableTransactionAction Entry(string partition, string folder, long uidValidity, long modSeq, IEnumerable<long> changed, IEnumerable<long> expunged)
    {
        var row = new TableEntity(partition, MailboxKeys.ChangeRow(folder, uidValidity, modSeq))
        {
            [Changed] = string.Join(',', changed),
            [Expunged] = string.Join(',', expunged),
        };
        return new TableTransactionAction(TableTransactionActionType.UpsertReplace, row);
    }

    /// <summary>
    /// Changes after <paramref name="since"/> up to <paramref name="folder"/>'s HIGHESTMODSEQ, or null when the log
    /// does not hold every one of them.
    /// </summary>
    public static async Task<(HashSet<long> Changed, HashSet<long> Expunged)?> ReadAsync(TableClient mailboxes, string partition, FolderInfo folder, long since, CancellationToken cancellationToken)
    {
        if (since >= folder.HighestModSeq)
            return ([], []);
        var filter = TableFilter.And(TableFilter.PartitionKey(partition),
            $"RowKey gt {TableFilter.Quote(MailboxKeys.ChangeRow(folder.Name, folder.UidValidity, since))}",
            $"RowKey le {TableFilter.Quote(MailboxKeys.ChangeRow(folder.Name, folder.UidValidity, folder.HighestModSeq))}");
        var changed = new HashSet<long>();
        var expunged = new HashSet<long>();
        long expect = since + 1;
        await foreach (var e in mailboxes.QueryRowsAsync(filter, ["RowKey", Changed, Expunged], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (MailboxKeys.ChangeModSeq(e.RowKey) != expect)
                return null; // a gap: trimmed, or changes made before the log existed
            expect++;
            foreach (var uid in Uids(e.ReadString(Changed)))
                changed.Add(uid);
            foreach (var uid in Uids(e.ReadString(Expunged)))
                expunged.Add(uid);
        }
        if (expect != folder.HighestModSeq + 1)
            return null;
        changed.ExceptWith(expunged); // UIDs are never reused: once expunged, gone
        return (changed, expunged);
    }

    /// <summary>Every <see cref="TrimEvery"/> changes, deletes log rows older than the last <see cref="Kept"/> (at most 100 per call).</summary>
    public static async Task TrimAsync(TableClient mailboxes, string partition, string folder, long uidValidity, long modSeq, CancellationToken cancellationToken)
    {
        if (modSeq % TrimEvery != 0 || modSeq <= Kept)
            return;
        var filter = TableFilter.And(TableFilter.PartitionKey(partition),
            $"RowKey ge {TableFilter.Quote(MailboxKeys.ChangeRow(folder, uidValidity, 0))}",
            $"RowKey lt {TableFilter.Quote(MailboxKeys.ChangeRow(folder, uidValidity, modSeq - Kept))}");
        var old = await mailboxes.QueryFirstPageAsync(filter, ["RowKey"], 100, cancellationToken).ConfigureAwait(false);
        if (old.Count == 0)
            return;
        try
        {
            await mailboxes.SubmitTransactionAsync(old.Select(e => new TableTransactionAction(TableTransactionActionType.Delete, e, Azure.ETag.All)), cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException)
        {
            // Another writer trimmed the same rows: nothing lost, the next trim tries again.
        }
    }

    private static IEnumerable<long> Uids(string? list)
    {
        if (string.IsNullOrEmpty(list))
            yield break;
        foreach (var part in list.Split(','))
        {
            if (long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
                yield return uid;
        }
    }
}
