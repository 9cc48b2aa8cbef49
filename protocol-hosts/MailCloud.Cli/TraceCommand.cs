using System.CommandLine;
using MailCloud.Core;
using MailCloud.Data;

namespace MailCloud.Cli;

/// <summary><c>mailcloud trace ID|ADDRESS</c>: a message's life through the pipeline, or the latest messages from or to an address.</summary>
internal static class TraceCommand
{
    public static Command Create()
    {
        var what = new Argument<string>("id-or-address") { Description = "A message id (from a log line, a queue item or the admin UI) or an envelope address" };
        var limit = new Option<int>("--limit") { Description = "For an address: how many of its newest messages", DefaultValueFactory = _ => 10 };
        var command = new Command("trace", "Show what happened to a message: accepted, filtered, routed, indexed, each remote attempt, bounces.") { what, limit };
        command.SetAction((p, ct) => CliErrors.RunAsync(async () =>
        {
            var store = new MessageTraceStore(StorageFactory.Account(new MailCloudSettings()));
            var key = p.GetValue(what)!.Trim();
            var views = await store.FindAsync(key, Math.Max(1, p.GetValue(limit)), ct);
            if (views.All(v => v.Events.Count == 0))
                return CliErrors.Fail($"no trace for '{key}' (traces are kept for MAILCLOUD_TRACE_DAYS, 30 by default)");
            foreach (var view in views)
                Console.Write(Format(view));
            return CliErrors.Ok;
        }));
        return command;
    }

    /// <summary>One line per event: UTC time, stage, what happened.</summary>
    public static string Format(MessageTraceView view)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("message ").Append(view.MessageId).Append('\n');
        foreach (var e in view.Events)
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  {e.At.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff}Z  {e.Stage.ToString().ToLowerInvariant(),-9} {e.Text}\n");
        return sb.ToString();
    }
}
