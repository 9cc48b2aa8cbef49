using System.Text.Json;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>
/// Puts work items on the pipeline's queues as JSON pointers (never message bodies), with no expiry: an item waits
/// until a stage takes it. A visibility delay schedules a retry.
/// </summary>
public sealed class WorkQueues(StorageAccount account)
{
    /// <summary>
    /// A queue message that never expires: the REST API's <c>messagettl=-1</c>. (The SDK sends whole seconds, so
    /// <c>Timeout.InfiniteTimeSpan</c>, -1 ms, would become an invalid 0.)
    /// </summary>
    public static readonly TimeSpan NeverExpires = TimeSpan.FromSeconds(-1);

    public Task EnqueueAsync<T>(string queue, T item, CancellationToken cancellationToken = default) => EnqueueAsync(queue, item, null, cancellationToken);

    public async Task EnqueueAsync<T>(string queue, T item, TimeSpan? delay, CancellationToken cancellationToken = default) =>
        await SendAsync(queue, item, delay, cancellationToken).ConfigureAwait(false);

    /// <summary>Enqueues and returns the queue's id and pop receipt for the message (what bringing a delayed retry forward needs).</summary>
    public async Task<Azure.Storage.Queues.Models.SendReceipt> SendAsync<T>(string queue, T item, TimeSpan? delay, CancellationToken cancellationToken = default) =>
        (await account.Queues.GetQueueClient(queue).SendMessageAsync(BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(item, WorkItemJson.Options)),
            delay, NeverExpires, cancellationToken).ConfigureAwait(false)).Value;
}

/// <summary>One recipient a remote server accepted.</summary>
public sealed record DeliveryRecord(string Recipient, string Host, string Reply, DateTimeOffset Delivered);

/// <summary>
/// Which recipients of an outbound work item a remote server has already accepted (partition = the item's stable
/// key), so a redelivered or retried item never sends twice to them.
/// </summary>
public sealed class DeliveryLog(StorageAccount account)
{
    private readonly TableClient _deliveries = account.Tables.GetTableClient(StorageNames.DeliveriesTable);

    /// <summary>The recipients already delivered for <paramref name="key"/> (one partition query).</summary>
    public async Task<HashSet<string>> DeliveredAsync(string key, CancellationToken cancellationToken = default)
    {
        var done = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await foreach (var e in _deliveries.QueryRowsAsync(TableFilter.PartitionKey(TableKeys.Escape(key)), ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            done.Add(Unescape(e.RowKey));
        return done;
    }

    public async Task RecordAsync(string key, DeliveryRecord record, CancellationToken cancellationToken = default) =>
        await _deliveries.UpsertRowAsync(new TableEntity(TableKeys.Escape(key), TableKeys.Escape(record.Recipient))
        {
            ["Host"] = record.Host,
            ["Reply"] = record.Reply,
            ["Delivered"] = record.Delivered,
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);

    private static string Unescape(string key) => Uri.UnescapeDataString(key);
}

/// <summary>User judgements onto the learn queue, one item per message (the learn stage needs nothing but the blob).</summary>
public sealed class QueueSpamTraining(StorageAccount account) : ISpamTraining
{
    private readonly WorkQueues _queues = new(account);

    public async Task ReportAsync(MailAddress user, IReadOnlyList<string> blobs, bool spam, CancellationToken cancellationToken = default)
    {
        foreach (var blob in blobs.Distinct(StringComparer.Ordinal))
            await _queues.EnqueueAsync(StorageNames.LearnQueue, new LearnWorkItem { User = user.Address, MessageBlob = blob, Spam = spam }, cancellationToken).ConfigureAwait(false);
    }
}
