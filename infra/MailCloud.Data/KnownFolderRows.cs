using System.Collections.Concurrent;
using Azure.Data.Tables;

namespace MailCloud.Data;

/// <summary>
/// The folder rows this process's adds last wrote, each as its transaction left it (the new ETag from the response),
/// kept for a short while: the next add to the same folder (a burst of deliveries, an APPEND after an APPEND) commits
/// on that ETag without reading the row first. One billed request less per add in Azure; on Azurite, whose point
/// read walks the user's whole partition, most of an add's time at 10,000 messages.
/// </summary>
/// <remarks>
/// Only ever a guess: the transaction is guarded by the ETag, so a row that anyone changed meanwhile (a flag change,
/// an expunge, an add in another process) fails it as a whole (412, or 404 when the folder went) and the add reads
/// the row as it always did, at the price of that one failed request. Rows are kept for <see cref="Keep"/> only, so an
/// add long after the last — when the row has most likely changed — does not pay that price.
/// </remarks>
internal sealed class KnownFolderRows(TimeProvider time)
{
    /// <summary>How long a written row is trusted enough to try its ETag.</summary>
    public static readonly TimeSpan Keep = TimeSpan.FromSeconds(30);

    /// <summary>Folders remembered at most (a row is a few KiB with its change log).</summary>
    public const int Capacity = 4096;

    private readonly ConcurrentDictionary<(string Partition, string Row), (TableEntity Row, long At)> _rows = new();

    /// <summary>The row as this process last wrote it, if that was within <see cref="Keep"/>. Never changed after it is remembered.</summary>
    public TableEntity? Get(string partition, string rowKey) =>
        _rows.TryGetValue((partition, rowKey), out var known) && time.GetElapsedTime(known.At) < Keep ? known.Row : null;

    public void Remember(TableEntity row)
    {
        if (_rows.Count >= Capacity)
            Trim();
        _rows[(row.PartitionKey, row.RowKey)] = (row, time.GetTimestamp());
    }

    public void Forget(string partition, string rowKey) => _rows.TryRemove((partition, rowKey), out _);

    public int Count => _rows.Count;

    private void Trim()
    {
        foreach (var (key, known) in _rows)
        {
            if (time.GetElapsedTime(known.At) >= Keep)
                _rows.TryRemove(key, out _);
        }
        if (_rows.Count >= Capacity)
            _rows.Clear(); // thousands of folders written within the last seconds: start again rather than track ages
    }
}
