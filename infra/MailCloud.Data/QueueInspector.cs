using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>A work item waiting on a queue as the operator sees it: the queue's id for it, its age, how often a stage took it, and its JSON.</summary>
public sealed record QueuedItem(string Queue, string Id, DateTimeOffset? Inserted, long DequeueCount, string Body)
{
    /// <summary>The message the item is about (every stage's work item has "id" and "blob").</summary>
    public string? MessageId => Field("id");

    public string? MessageBlob => Field("blob");

    private string? Field(string name)
    {
        try
        {
            using var json = JsonDocument.Parse(Body);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        }
        catch (JsonException)
        {
            return null; // a poisoned item may be poisoned because it is not JSON
        }
    }
}

/// <summary>A queue's approximate length, and when its first visible item was put there.</summary>
public sealed record QueueDepth(string Queue, int Count, DateTimeOffset? FirstVisibleInserted);

/// <summary>
/// The operator's view of the pipeline's queues: what waits where, putting poisoned items back, removing one.
/// Azure Storage queues show only visible messages to a peek; an item waiting for a delayed retry is invisible until
/// then, and only its receiver (which holds the pop receipt) can bring it forward: deferred remote deliveries are
/// brought forward through <see cref="ScheduledRetryStore"/>, which keeps those receipts.
/// </summary>
public sealed class QueueInspector(StorageAccount account)
{
    public StorageAccount Account => account;

    /// <summary>How long items taken to be looked at stay hidden; the ones not acted on are made visible again at once.</summary>
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(30);

    public static bool IsKnown(string queue) => StorageNames.Queues.Contains(queue);

    /// <summary>
    /// Every pipeline queue with its approximate length (visible and delayed items alike) and the insertion time of
    /// the first visible item: two requests per queue.
    /// </summary>
    public async Task<IReadOnlyList<QueueDepth>> DepthsAsync(CancellationToken cancellationToken = default)
    {
        var depths = new List<QueueDepth>();
        foreach (var name in StorageNames.Queues)
        {
            var queue = Queue(name);
            var properties = await queue.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
            var front = await queue.PeekMessagesAsync(1, cancellationToken).ConfigureAwait(false);
            depths.Add(new QueueDepth(name, properties.Value.ApproximateMessagesCount, front.Value.FirstOrDefault()?.InsertedOn));
        }
        return depths;
    }

    /// <summary>Up to 32 visible items from the front of the queue (a peek: nothing is taken).</summary>
    public async Task<IReadOnlyList<QueuedItem>> PeekAsync(string queue, int max = 32, CancellationToken cancellationToken = default)
    {
        var peeked = await Queue(queue).PeekMessagesAsync(Math.Clamp(max, 1, 32), cancellationToken).ConfigureAwait(false);
        return peeked.Value.Select(m => new QueuedItem(queue, m.MessageId, m.InsertedOn, m.DequeueCount, m.Body.ToString())).ToList();
    }

    /// <summary>
    /// Moves poisoned items back to the queue they failed on (all of them, or the one with this queue id or message id):
    /// sent there first, then deleted here, so a crash in between leaves a twin the stages de-duplicate, never a loss.
    /// </summary>
    public async Task<int> ReplayAsync(string poisonQueue, string? id, CancellationToken cancellationToken = default)
    {
        if (!poisonQueue.EndsWith(StorageNames.PoisonSuffix, StringComparison.Ordinal) || !IsKnown(poisonQueue))
            throw new ArgumentException($"'{poisonQueue}' is not a poison queue (one of {string.Join(", ", StorageNames.Queues.Where(q => q.EndsWith(StorageNames.PoisonSuffix, StringComparison.Ordinal)))})");
        var target = Queue(poisonQueue[..^StorageNames.PoisonSuffix.Length]);
        return await TakeAsync(poisonQueue, id, async m =>
            await target.SendMessageAsync(m.Body, timeToLive: WorkQueues.NeverExpires, cancellationToken: cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the items with this queue id or message id from the queue (visible items only); the last one deleted, or null when none matched.</summary>
    public async Task<QueuedItem?> DeleteAsync(string queue, string id, CancellationToken cancellationToken = default)
    {
        QueuedItem? deleted = null;
        await TakeAsync(queue, id, m =>
        {
            deleted = new QueuedItem(queue, m.MessageId, m.InsertedOn, m.DequeueCount, m.Body.ToString());
            return Task.CompletedTask;
        }, cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    /// <summary>Receives the queue's visible items in batches; for each match runs <paramref name="act"/> then deletes it, and puts the rest back.</summary>
    private async Task<int> TakeAsync(string queueName, string? id, Func<QueueMessage, Task> act, CancellationToken cancellationToken)
    {
        var queue = Queue(queueName);
        int done = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var batch = (await queue.ReceiveMessagesAsync(32, Hold, cancellationToken).ConfigureAwait(false)).Value;
            if (batch.Length == 0)
                return done;
            bool fresh = false;
            foreach (var m in batch)
            {
                fresh |= seen.Add(m.MessageId);
                var item = new QueuedItem(queueName, m.MessageId, m.InsertedOn, m.DequeueCount, m.Body.ToString());
                if (id is null || id == m.MessageId || id == item.MessageId)
                {
                    await act(m).ConfigureAwait(false);
                    await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, cancellationToken).ConfigureAwait(false);
                    done++;
                }
                else
                {
                    await queue.UpdateMessageAsync(m.MessageId, m.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
            }
            if (!fresh)
                return done; // everything visible has been looked at
        }
    }

    private QueueClient Queue(string name) =>
        IsKnown(name) ? account.Queues.GetQueueClient(name) : throw new ArgumentException($"no queue '{name}' (queues: {string.Join(", ", StorageNames.Queues)})");
}
