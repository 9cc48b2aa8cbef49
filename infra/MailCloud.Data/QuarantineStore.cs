using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>A message held back instead of delivered: which recipients it was for, why, and what to re-run on release.</summary>
public sealed record QuarantineEntry
{
    public required string Id { get; init; }
    public required string Blob { get; init; }
    public required long Size { get; init; }

    /// <summary>"virus" or "spam".</summary>
    public required string Reason { get; init; }

    /// <summary>The virus name, or the spam score and engine action.</summary>
    public required string Detail { get; init; }

    /// <summary>The envelope with only the recipients held (release delivers to these).</summary>
    public required Envelope Envelope { get; init; }

    public string? Subject { get; init; }
    public string? From { get; init; }
    public required DateTimeOffset Quarantined { get; init; }
}

/// <summary>
/// The quarantine table (partition "q", row = message id, time-ordered). An entry keeps its raw message alive
/// through a blob-reference row, so housekeeping never deletes a held message; deleting the entry releases that
/// reference and the blob becomes an ordinary orphan. Entries older than the retention are purged by housekeeping.
/// </summary>
public sealed class QuarantineStore(StorageAccount account)
{
    private const string Partition = "q";
    private const string RefRow = "quarantine";
    private readonly TableClient _table = account.Tables.GetTableClient(StorageNames.QuarantineTable);
    private readonly TableClient _refs = account.Tables.GetTableClient(StorageNames.BlobRefsTable);

    /// <summary>Holds a message (idempotent: a repeated work item merges its recipients into the same entry).</summary>
    public async Task HoldAsync(QuarantineEntry entry, CancellationToken cancellationToken = default)
    {
        await _refs.UpsertRowAsync(new TableEntity(TableKeys.Escape(entry.Blob), RefRow) { ["Quarantine"] = entry.Id }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        var existing = await GetAsync(entry.Id, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            var recipients = existing.Envelope.Recipients.Concat(entry.Envelope.Recipients)
                .DistinctBy(r => r.Address, StringComparer.OrdinalIgnoreCase).ToList();
            entry = entry with { Envelope = entry.Envelope with { Recipients = recipients } };
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(entry.Envelope, WorkItemJson.Options);
        if (json.Length > 60_000)
            throw new InvalidOperationException($"quarantine entry {entry.Id}: envelope of {entry.Envelope.Recipients.Count} recipients is too large for one row");
        await _table.UpsertRowAsync(new TableEntity(Partition, TableKeys.Escape(entry.Id))
        {
            ["Blob"] = entry.Blob,
            ["Size"] = entry.Size,
            ["Reason"] = entry.Reason,
            ["Detail"] = MailboxWriter.Cap(entry.Detail),
            ["Envelope"] = json,
            ["Subject"] = entry.Subject is null ? null : MailboxWriter.Cap(entry.Subject),
            ["From"] = entry.From is null ? null : MailboxWriter.Cap(entry.From),
            ["Quarantined"] = entry.Quarantined,
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    public async Task<QuarantineEntry?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        await _table.GetRowAsync(Partition, TableKeys.Escape(id), cancellationToken: cancellationToken).ConfigureAwait(false) is { } e ? Read(e) : null;

    /// <summary>Every held message, oldest first.</summary>
    public async IAsyncEnumerable<QuarantineEntry> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var e in _table.QueryRowsAsync(TableFilter.PartitionKey(Partition), cancellationToken: cancellationToken).ConfigureAwait(false))
            yield return Read(e);
    }

    /// <summary>
    /// Sends a held message on to its held recipients: a new inbound work item marked released (the content engines
    /// stand aside), then the entry goes. A crash in between leaves the entry; releasing it again is harmless, since
    /// indexing and remote delivery de-duplicate by message id.
    /// </summary>
    public async Task<bool> ReleaseAsync(string id, CancellationToken cancellationToken = default)
    {
        if (await GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } entry)
            return false;
        await new WorkQueues(account).EnqueueAsync(StorageNames.InboundQueue, new InboundWorkItem
        {
            MessageId = entry.Id,
            MessageBlob = entry.Blob,
            Size = entry.Size,
            Envelope = entry.Envelope,
            Released = true,
        }, cancellationToken).ConfigureAwait(false);
        await DeleteAsync(entry, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Removes the entry and its hold on the blob; false when it was not there.</summary>
    public async Task<bool> DeleteAsync(QuarantineEntry entry, CancellationToken cancellationToken = default)
    {
        try
        {
            await _table.DeleteEntityAsync(Partition, TableKeys.Escape(entry.Id), ETag.All, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
        finally
        {
            // Another entry for the same blob (none today: one entry per message) would lose its hold: the row names its entry.
            var hold = await _refs.GetRowAsync(TableKeys.Escape(entry.Blob), RefRow, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (hold is not null && hold.GetString("Quarantine") == entry.Id)
                await _refs.DeleteEntityAsync(hold.PartitionKey, hold.RowKey, hold.ETag, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    private static QuarantineEntry Read(TableEntity e) => new()
    {
        Id = Uri.UnescapeDataString(e.RowKey),
        Blob = e.ReadString("Blob") ?? string.Empty,
        Size = e.ReadInt64("Size") ?? 0,
        Reason = e.ReadString("Reason") ?? "unknown",
        Detail = e.ReadString("Detail") ?? string.Empty,
        Envelope = JsonSerializer.Deserialize<Envelope>(e.ReadBinary("Envelope") ?? "{}"u8.ToArray(), WorkItemJson.Options)!,
        Subject = e.ReadString("Subject"),
        From = e.ReadString("From"),
        Quarantined = e.ReadDate("Quarantined") ?? e.Timestamp ?? default,
    };
}
