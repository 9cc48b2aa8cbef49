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
            var run = new Housekeeping(StorageFactory.Account(settings), Durations.Parse(p.GetValue(age)!), NullLogger.Instance, quarantineRetention: settings.QuarantineRetention, traceRetention: settings.TraceRetention);
            var result = await run.RunAsync(CancellationToken.None);
            Console.WriteLine($"deleted {result.MessagesDeleted} unreferenced message(s), kept {result.MessagesKept}, removed {result.EnvelopesDeleted} expired envelope(s) and {result.QuarantineExpired} quarantine entr(ies)");
            return CliErrors.Ok;
        }));
        return command;
    }

    public static Command Reindex()
    {
        var user = new Argument<string>("user") { Description = "The mailbox to rebuild (an address)" };
        var command = new Command("reindex", "Rebuild a user's mailbox index from the raw messages and their blob references (flags and UIDs are not recorded there: messages come back unread, renumbered).") { user };
        command.SetAction((p, _) => CliErrors.RunAsync(async () =>
        {
            if (!MailAddress.TryParse(p.GetValue(user), out var address, out var error))
            {
                Console.Error.WriteLine($"mailcloud: error: {error}");
                return CliErrors.Usage;
            }
            var result = await new MailboxRebuilder(StorageFactory.Account(new MailCloudSettings())).RebuildAsync(address, CancellationToken.None);
            Console.WriteLine($"{address}: {result.References} reference(s) in {result.Folders.Count} folder(s) ({string.Join(", ", result.Folders)}); re-added {result.Added}, already indexed {result.AlreadyIndexed}, blob missing {result.MissingBlobs}");
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
