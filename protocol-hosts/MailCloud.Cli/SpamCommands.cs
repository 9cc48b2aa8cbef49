using System.CommandLine;
using System.Globalization;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.Cli;

/// <summary><c>domain spam</c> (per-domain thresholds) and <c>quarantine list|show|release|delete</c>.</summary>
internal static class SpamCommands
{
    public static Command DomainSpam()
    {
        var domain = new Argument<string>("domain") { Description = "Domain name" };
        var junk = new Option<double?>("--junk") { Description = "Score at which mail goes to Junk (e.g. 5)" };
        var quarantine = new Option<double?>("--quarantine") { Description = "Score at which mail is held in quarantine (optional; above --junk)" };
        var clear = new Option<bool>("--clear") { Description = "Remove the domain's thresholds (back to the engine's own actions)" };
        var command = new Command("spam", "Show or set the domain's spam thresholds.") { domain, junk, quarantine, clear };
        command.SetAction((p, ct) => AdminCommands.WithDirectory(async d =>
        {
            var name = p.GetValue(domain)!;
            if (p.GetValue(clear))
            {
                await d.SetSpamPolicyAsync(name, null, ct);
                Console.WriteLine($"spam thresholds removed for {name}");
                return CliErrors.Ok;
            }
            if (p.GetValue(junk) is { } j)
            {
                await d.SetSpamPolicyAsync(name, new SpamPolicy(j, p.GetValue(quarantine)), ct);
            }
            else if (p.GetValue(quarantine) is not null)
            {
                throw new FormatException("--quarantine needs --junk too");
            }
            var info = await d.GetDomainAsync(name, ct) ?? throw new DirectoryException(DirectoryErrorKind.NotFound, $"domain {name} is not hosted here");
            Console.WriteLine(info.Spam is { } s
                ? $"{info.Name}: junk at {Score(s.JunkScore)}, quarantine {(s.QuarantineScore is { } q ? "at " + Score(q) : "off")}"
                : $"{info.Name}: the engine's own actions (built-in scorer: junk at 5)");
            return CliErrors.Ok;
        }));
        return command;
    }

    public static Command Quarantine()
    {
        var command = new Command("quarantine", "Messages held back (virus found, spam over the quarantine threshold).");

        var list = new Command("list", "List held messages, oldest first.");
        list.SetAction((p, ct) => WithQuarantine(async q =>
        {
            int n = 0;
            await foreach (var e in q.ListAsync(ct))
            {
                Console.WriteLine($"{e.Id}  {e.Quarantined.UtcDateTime:yyyy-MM-dd HH:mm}  {e.Reason,-5}  {e.Detail}  from <{e.Envelope.Sender}> to {string.Join(", ", e.Envelope.Recipients.Select(r => r.Address))}  \"{e.Subject}\"");
                n++;
            }
            Console.Error.WriteLine($"{n} held message(s)");
            return CliErrors.Ok;
        }));

        var showId = new Argument<string>("id") { Description = "Quarantine id (the message id)" };
        var show = new Command("show", "Show one held message's details.") { showId };
        show.SetAction((p, ct) => WithQuarantine(async q =>
        {
            var e = await RequireAsync(q, p.GetValue(showId)!, ct);
            Console.WriteLine($"id:         {e.Id}");
            Console.WriteLine($"held:       {e.Quarantined:u}");
            Console.WriteLine($"reason:     {e.Reason} ({e.Detail})");
            Console.WriteLine($"sender:     <{e.Envelope.Sender}> from {e.Envelope.ClientAddress} ({e.Envelope.Helo})");
            Console.WriteLine($"recipients: {string.Join(", ", e.Envelope.Recipients.Select(r => r.Address))}");
            Console.WriteLine($"from:       {e.From}");
            Console.WriteLine($"subject:    {e.Subject}");
            Console.WriteLine($"size:       {e.Size} bytes (blob {e.Blob})");
            return CliErrors.Ok;
        }));

        var releaseId = new Argument<string>("id") { Description = "Quarantine id" };
        var release = new Command("release", "Deliver a held message to its recipients (without scanning it again).") { releaseId };
        release.SetAction((p, ct) => WithQuarantine(async q =>
        {
            if (!await q.ReleaseAsync(p.GetValue(releaseId)!, ct))
                throw NotHeld(p.GetValue(releaseId)!);
            Console.WriteLine($"released {p.GetValue(releaseId)}: queued for delivery");
            return CliErrors.Ok;
        }));

        var deleteId = new Argument<string>("id") { Description = "Quarantine id" };
        var delete = new Command("delete", "Delete a held message (its blob is removed by housekeeping).") { deleteId };
        delete.SetAction((p, ct) => WithQuarantine(async q =>
        {
            var e = await RequireAsync(q, p.GetValue(deleteId)!, ct);
            await q.DeleteAsync(e, ct);
            Console.WriteLine($"deleted {e.Id}");
            return CliErrors.Ok;
        }));

        command.Subcommands.Add(list);
        command.Subcommands.Add(show);
        command.Subcommands.Add(release);
        command.Subcommands.Add(delete);
        return command;
    }

    private static async Task<QuarantineEntry> RequireAsync(QuarantineStore quarantine, string id, CancellationToken ct) =>
        await quarantine.GetAsync(id, ct) ?? throw NotHeld(id);

    private static DirectoryException NotHeld(string id) => new(DirectoryErrorKind.NotFound, $"no quarantine entry {id}");

    private static Task<int> WithQuarantine(Func<QuarantineStore, Task<int>> action) => CliErrors.RunAsync(async () =>
    {
        var account = StorageFactory.Account(new MailCloudSettings(), StorageClientOptions.FailFast());
        try
        {
            return await action(new QuarantineStore(account));
        }
        catch (Azure.RequestFailedException e) when (e.ErrorCode is "TableNotFound" or "QueueNotFound")
        {
            await StorageProvisioner.EnsureCreatedAsync(account);
            return await action(new QuarantineStore(account));
        }
    });

    private static string Score(double s) => s.ToString("0.0##", CultureInfo.InvariantCulture);
}
