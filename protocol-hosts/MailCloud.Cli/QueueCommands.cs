using System.CommandLine;
using MailCloud.Core;
using MailCloud.Data;

namespace MailCloud.Cli;

/// <summary>
/// <c>mailcloud queue list|show|retry|replay|delete</c>: the pipeline's queues, what waits on them, deferred deliveries
/// brought forward, poisoned items put back where they failed, one item removed (its message blob too, with
/// --remove-message, when no mailbox refers to it).
/// </summary>
internal static class QueueCommands
{
    public static Command Create()
    {
        var list = new Command("list", "Every pipeline queue (and its -poison queue) with its approximate length and the age of its first visible item.");
        list.SetAction((_, _) => CliErrors.RunAsync(async () =>
        {
            var depths = await new QueueInspector(Account()).DepthsAsync();
            Console.WriteLine($"{"queue",-16} {"items",7}  first visible");
            foreach (var d in depths)
                Console.WriteLine($"{d.Queue,-16} {d.Count,7}  {(d.FirstVisibleInserted is { } at ? $"{(DateTimeOffset.UtcNow - at).TotalSeconds:N0} s old" : "-")}");
            // The table only: scripts read it line by line (deferred deliveries are listed by 'queue show outbound').
            return CliErrors.Ok;
        }));

        var showQueue = new Argument<string>("queue") { Description = "A queue from 'queue list', e.g. inbound-poison" };
        var json = new Option<bool>("--json") { Description = "Print each item's work item JSON as well" };
        var show = new Command("show", "The visible items at the front of a queue (up to 32): queue id, age, times taken, message id, blob.") { showQueue, json };
        show.SetAction((p, _) => CliErrors.RunAsync(async () =>
        {
            var queue = p.GetValue(showQueue)!;
            if (!QueueInspector.IsKnown(queue))
                return Unknown(queue);
            var items = await new QueueInspector(Account()).PeekAsync(queue);
            Console.WriteLine($"{queue}: {items.Count} visible item(s){(items.Count == 32 ? " (the first 32)" : "")}; items waiting for a delayed retry are not visible until then");
            foreach (var i in items)
            {
                Console.WriteLine($"{i.Id}  {(i.Inserted is { } at ? $"{(DateTimeOffset.UtcNow - at).TotalMinutes:N1} min old" : "-")}  taken {i.DequeueCount}x  message {i.MessageId ?? "?"}  blob {i.MessageBlob ?? "?"}");
                if (p.GetValue(json))
                    Console.WriteLine("  " + i.Body);
            }
            if (queue == StorageNames.OutboundQueue)
            {
                var waiting = await new ScheduledRetryStore(Account()).ListAsync();
                Console.WriteLine($"{waiting.Count} waiting for a retry:");
                foreach (var r in waiting)
                    Console.WriteLine($"{r.MessageId}  attempt {r.Attempt + 1} due {r.Due.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z  to {r.Recipients}  last error: {r.LastError}");
            }
            return CliErrors.Ok;
        }));

        var retryId = new Argument<string?>("id") { Description = "A message id (or outbound item key); all waiting deliveries when left out", Arity = ArgumentArity.ZeroOrOne };
        var retry = new Command("retry", "Retry deferred remote deliveries now instead of at their scheduled time (a delivered recipient is never sent to again).") { retryId };
        retry.SetAction((p, _) => CliErrors.RunAsync(async () =>
        {
            var n = await new ScheduledRetryStore(Account()).RetryNowAsync(p.GetValue(retryId));
            Console.WriteLine($"{n} deferred deliver{(n == 1 ? "y" : "ies")} made due now");
            return n == 0 && p.GetValue(retryId) is not null ? CliErrors.Failed : CliErrors.Ok;
        }));

        var replayQueue = new Argument<string>("poison-queue") { Description = "inbound-poison, index-poison, outbound-poison or learn-poison" };
        var replayId = new Option<string?>("--id") { Description = "Only the item with this queue id or message id (default: all)" };
        var replay = new Command("replay", "Put poisoned items back on the queue they failed on (retry now); the stages de-duplicate, so a replay never delivers twice.") { replayQueue, replayId };
        replay.SetAction((p, _) => CliErrors.RunAsync(async () =>
        {
            var queue = p.GetValue(replayQueue)!;
            if (!queue.EndsWith(StorageNames.PoisonSuffix, StringComparison.Ordinal) || !QueueInspector.IsKnown(queue))
                return Unknown(queue);
            var n = await new QueueInspector(Account()).ReplayAsync(queue, p.GetValue(replayId));
            Console.WriteLine($"replayed {n} item(s) from {queue} into {queue[..^StorageNames.PoisonSuffix.Length]}");
            return n == 0 && p.GetValue(replayId) is not null ? CliErrors.Failed : CliErrors.Ok;
        }));

        var deleteQueue = new Argument<string>("queue") { Description = "The queue the item is on" };
        var deleteId = new Argument<string>("id") { Description = "The item's queue id or message id" };
        var removeMessage = new Option<bool>("--remove-message") { Description = "Also delete the message's blob, when no mailbox entry refers to it" };
        var delete = new Command("delete", "Remove one item from a queue (the message blob stays unless --remove-message).") { deleteQueue, deleteId, removeMessage };
        delete.SetAction((p, _) => CliErrors.RunAsync(async () =>
        {
            var queue = p.GetValue(deleteQueue)!;
            if (!QueueInspector.IsKnown(queue))
                return Unknown(queue);
            var account = Account();
            var item = await new QueueInspector(account).DeleteAsync(queue, p.GetValue(deleteId)!);
            if (item is null)
                return CliErrors.Fail($"no visible item '{p.GetValue(deleteId)}' on {queue}");
            Console.WriteLine($"deleted item {item.Id} (message {item.MessageId ?? "?"}) from {queue}");
            if (p.GetValue(removeMessage) && item.MessageBlob is { } blob)
            {
                Console.WriteLine(await new SpoolMaintenance(account).DeleteIfUnreferencedAsync(blob) switch
                {
                    null => $"kept {blob}: a mailbox entry refers to it",
                    true => $"deleted {blob}",
                    false => $"{blob} was already gone",
                });
            }
            return CliErrors.Ok;
        }));
        return new Command("queue", "The pipeline's queues: list, show, retry deferred deliveries now, replay poisoned items, delete one.") { list, show, retry, replay, delete };
    }

    private static MailCloud.Storage.StorageAccount Account() => StorageFactory.Account(new MailCloudSettings());

    private static int Unknown(string queue)
    {
        Console.Error.WriteLine($"mailcloud: error: no queue '{queue}' here (queues: {string.Join(", ", StorageNames.Queues)})");
        return CliErrors.Usage;
    }
}
