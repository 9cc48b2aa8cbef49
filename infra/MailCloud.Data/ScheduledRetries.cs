using Azure;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>A remote delivery waiting for its next attempt: the hidden queue message that carries it, when it is due, and why it waits.</summary>
public sealed record ScheduledRetry(string Key, string MessageId, string Queue, string QueueMessageId, string PopReceipt, DateTimeOffset Due, int Attempt, string Recipients, string LastError);

/// <summary>
/// Outbound items deferred with a visibility delay are invisible to a queue peek, and only the holder of the pop
/// receipt the send returned can bring one forward. The deliver stage records that receipt here (deliveries table,
/// partition "retry", row = the item's stable key), so an operator can list what waits and retry it now
/// (<c>./mailcloud queue retry</c>, the admin UI). One row per waiting item, replaced on each deferral and deleted
/// when the item finishes; a row whose message has been taken since is stale and is dropped when found.
/// </summary>
public sealed class ScheduledRetryStore(StorageAccount account)
{
    private const string Partition = "retry";
    private readonly TableClient _table = account.Tables.GetTableClient(StorageNames.DeliveriesTable);

    public async Task RecordAsync(ScheduledRetry retry, CancellationToken cancellationToken = default) =>
        await _table.UpsertRowAsync(new TableEntity(Partition, TableKeys.Escape(retry.Key))
        {
            ["MessageId"] = retry.MessageId,
            ["Queue"] = retry.Queue,
            ["QueueMessageId"] = retry.QueueMessageId,
            ["PopReceipt"] = retry.PopReceipt,
            ["Due"] = retry.Due,
            ["Attempt"] = retry.Attempt,
            ["Recipients"] = MailboxWriter.Cap(retry.Recipients),
            ["LastError"] = MailboxWriter.Cap(retry.LastError),
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);

    public async Task ClearAsync(string key, CancellationToken cancellationToken = default) =>
        await _table.DeleteRowAsync(Partition, TableKeys.Escape(key), cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>Every waiting item, soonest first (one partition query).</summary>
    public async Task<IReadOnlyList<ScheduledRetry>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<ScheduledRetry>();
        await foreach (var e in _table.QueryRowsAsync(TableFilter.PartitionKey(Partition), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(new ScheduledRetry(TableKeys.Unescape(e.RowKey), e.ReadString("MessageId") ?? string.Empty, e.ReadString("Queue") ?? StorageNames.OutboundQueue,
                e.ReadString("QueueMessageId") ?? string.Empty, e.ReadString("PopReceipt") ?? string.Empty, e.ReadDate("Due") ?? DateTimeOffset.MinValue,
                e.ReadInt32("Attempt") ?? 0, e.ReadString("Recipients") ?? string.Empty, e.ReadString("LastError") ?? string.Empty));
        }
        return list.OrderBy(r => r.Due).ToList();
    }

    /// <summary>
    /// Makes the waiting items for this message id or key (all when null) visible now; returns how many. A message
    /// already taken (its receipt no longer valid) is dropped from the list: it is running or done.
    /// </summary>
    public async Task<int> RetryNowAsync(string? id, CancellationToken cancellationToken = default)
    {
        int count = 0;
        foreach (var r in await ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (id is not null && id != r.MessageId && id != r.Key)
                continue;
            try
            {
                var receipt = (await account.Queues.GetQueueClient(r.Queue).UpdateMessageAsync(r.QueueMessageId, r.PopReceipt, visibilityTimeout: TimeSpan.Zero,
                    cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
                // Its receipt changed with the update; a second "retry now" before the stage takes it must still work.
                await RecordAsync(r with { PopReceipt = receipt.PopReceipt, Due = DateTimeOffset.UtcNow }, cancellationToken).ConfigureAwait(false);
                count++;
            }
            catch (RequestFailedException e) when (e.Status is 404 or 400)
            {
                await ClearAsync(r.Key, cancellationToken).ConfigureAwait(false);
            }
        }
        return count;
    }
}
