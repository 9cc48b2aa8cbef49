using System.CommandLine;
using System.Runtime.InteropServices;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Functions;
using MailCloud.LocalDev;
using MailCloud.Pipeline;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailCloud.Cli;

/// <summary>
/// <c>mailcloud functions</c>: the functions alone, run by the local driver against MAILCLOUD_STORAGE until Ctrl-C —
/// the local stand-in for the Functions app when the front ends run as their own process (the container entry point),
/// as in Azure. <c>mailcloud housekeeping</c>: one run of the housekeeping timer stage, now.
/// </summary>
internal static class FunctionsCommand
{
    public static Command Create()
    {
        var command = new Command("functions", "Run only the functions (queue and timer triggers) against MAILCLOUD_STORAGE until Ctrl-C; the front ends run elsewhere.");
        command.SetAction((_, _) => CliErrors.RunAsync(RunAsync));
        return command;
    }

    public static Command Housekeeping()
    {
        var age = new Option<string>("--orphan-age") { Description = "Delete unreferenced messages older than this (default 30d; 0s for all)", DefaultValueFactory = _ => "30d" };
        var command = new Command("housekeeping", "Run housekeeping once now: unreferenced messages, expired envelopes, expired quarantine entries.") { age };
        command.SetAction((p, _) => CliErrors.RunAsync(async () =>
        {
            var settings = new MailCloudSettings();
            var run = new Housekeeping(StorageFactory.Account(settings), Durations.Parse(p.GetValue(age)!), NullLogger.Instance, quarantineRetention: settings.QuarantineRetention);
            var result = await run.RunAsync(CancellationToken.None);
            Console.WriteLine($"deleted {result.MessagesDeleted} unreferenced message(s), kept {result.MessagesKept}, removed {result.EnvelopesDeleted} expired envelope(s) and {result.QuarantineExpired} quarantine entr(ies)");
            return CliErrors.Ok;
        }));
        return command;
    }

    private static async Task<int> RunAsync()
    {
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        var settings = new MailCloudSettings();
        var pipeline = PipelineSettings.FromEnvironment(settings);
        // Containers, queues and tables as Bicep makes them in Azure; idempotent, so a restart costs a few requests.
        await StorageProvisioner.EnsureCreatedAsync(pipeline.Account, stop.Token);
        var repo = Environment.GetEnvironmentVariable("MAILCLOUD_REPO") is { Length: > 0 } r ? r : Directory.GetCurrentDirectory();
        await using var functions = LocalFunctionsHost.Create(pipeline.Account, typeof(PipelineFunctions).Assembly, s => s.AddMailCloudPipeline(pipeline),
            Path.Combine(repo, "host.json"),
            logging: b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; }).AddFilter("Microsoft", LogLevel.Warning).AddFilter("Azure", LogLevel.Warning),
            log: line => Console.WriteLine($"driver: {line}"),
            lease: Environment.GetEnvironmentVariable("MAILCLOUD_QUEUE_LEASE") is { Length: > 0 } lease ? Durations.Parse(lease) : null);
        functions.Start();
        Console.WriteLine($"functions running against {StorageFactory.Connection(settings)}: {string.Join(", ", functions.Driver.Triggers.Select(t => t.Queue ?? t.Function))}");
        Console.WriteLine("ready");
        await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        Console.WriteLine("stopping");
        return CliErrors.Ok;
    }
}

/// <summary>
/// <c>mailcloud queue list|show|replay|delete</c>: the pipeline's queues, what waits on them, poisoned items put back
/// where they failed, one item removed (its message blob too, with --remove-message, when no mailbox refers to it).
/// </summary>
internal static class QueueCommands
{
    public static Command Create()
    {
        var list = new Command("list", "Every pipeline queue (and its -poison queue) with its approximate length and the age of its first visible item.");
        list.SetAction((_, _) => CliErrors.RunAsync(async () =>
        {
            var depths = await new WorkQueues(Account()).DepthsAsync();
            Console.WriteLine($"{"queue",-16} {"items",7}  first visible");
            foreach (var d in depths)
                Console.WriteLine($"{d.Queue,-16} {d.Count,7}  {(d.FirstVisibleInserted is { } at ? $"{(DateTimeOffset.UtcNow - at).TotalSeconds:N0} s old" : "-")}");
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
            return CliErrors.Ok;
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
        return new Command("queue", "The pipeline's queues: list, show, replay poisoned items, delete one.") { list, show, replay, delete };
    }

    private static MailCloud.Storage.StorageAccount Account() => StorageFactory.Account(new MailCloudSettings());

    private static int Unknown(string queue)
    {
        Console.Error.WriteLine($"mailcloud: error: no queue '{queue}' here (queues: {string.Join(", ", StorageNames.Queues)})");
        return CliErrors.Usage;
    }
}
