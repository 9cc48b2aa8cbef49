using System.CommandLine;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.Cli;

/// <summary>
/// <c>backup DIR|--stored</c>, <c>backups</c> and <c>restore DIR|--stored ID</c>: the directory, the mailbox index and
/// the messages, to and from a folder or the backup container the automatic backup writes.
/// </summary>
internal static class BackupCommands
{
    public static IEnumerable<Command> Create()
    {
        var folderArg = new Argument<string?>("folder") { Description = "Folder for the backup (created if missing)", Arity = ArgumentArity.ZeroOrOne };
        var storedOption = new Option<bool>("--stored") { Description = "Write a set into the backup container instead (what the schedule does), then prune by the retention" };
        var backup = new Command("backup", "Save domains, users, aliases, lists, mailboxes and messages to a folder, or (--stored) as a set in the backup container.") { folderArg, storedOption };
        backup.SetAction((p, ct) => CliErrors.RunAsync(async () =>
        {
            var settings = new MailCloudSettings();
            var account = StorageFactory.Account(settings, StorageClientOptions.FailFast());
            if (p.GetValue(storedOption))
            {
                var (set, pruned) = await StoredBackups.FromSettings(account, settings).RunAsync(StoredBackups.Retention(settings), DateTimeOffset.UtcNow, ct);
                Console.WriteLine($"backup set {set.Id}: {set.Entities} table rows, {set.Messages} messages ({set.MessagesWritten} new, {set.MessageBytesWritten} bytes); pruned {pruned.SetsDeleted} set(s)");
                return CliErrors.Ok;
            }
            if (p.GetValue(folderArg) is not { Length: > 0 } folder)
                return CliErrors.Fail("give a folder, or --stored for a set in the backup container");
            var summary = await new MailboxBackup(account).ExportAsync(folder, ct);
            Console.WriteLine($"backup written to {Path.GetFullPath(folder)}: {summary.Entities} table rows, {summary.Blobs} messages ({summary.BlobBytes} bytes)");
            return CliErrors.Ok;
        }));

        var backups = new Command("backups", "List the sets in the backup container (automatic backups and 'backup --stored'), newest first.");
        backups.SetAction((_, ct) => CliErrors.RunAsync(async () =>
        {
            var settings = new MailCloudSettings();
            var store = StoredBackups.FromSettings(StorageFactory.Account(settings, StorageClientOptions.FailFast()), settings);
            var sets = await store.ListAsync(ct);
            Console.WriteLine($"{sets.Count} set(s) in container '{store.Container.Name}' (keeping {settings.BackupKeep.Daily} daily, {settings.BackupKeep.Weekly} weekly; schedule {settings.BackupSchedule ?? "off"})");
            foreach (var s in sets)
                Console.WriteLine($"{s.Id}  {s.Entities,7} rows  {s.Messages,7} messages  {s.MessagesWritten,6} new  {ByteSize.Format(s.MessageBytesWritten + s.TableBytes),10} written");
            return CliErrors.Ok;
        }));

        var restoreArg = new Argument<string?>("folder") { Description = "A folder written by 'mailcloud backup'", Arity = ArgumentArity.ZeroOrOne };
        var storedSet = new Option<string?>("--stored") { Description = "A set from 'mailcloud backups' (its id, or latest) instead of a folder" };
        var force = new Option<bool>("--force") { Description = "Merge into storage that already has a directory" };
        var restore = new Command("restore", "Restore a backup (a folder, or a stored set) into (empty) storage.") { restoreArg, storedSet, force };
        restore.SetAction((p, ct) => CliErrors.RunAsync(async () =>
        {
            var settings = new MailCloudSettings();
            var account = StorageFactory.Account(settings, StorageClientOptions.FailFast());
            try
            {
                BackupSummary summary;
                if (p.GetValue(storedSet) is { Length: > 0 } id)
                {
                    var set = await StoredBackups.FromSettings(account, settings).OpenAsync(id, ct);
                    if (set is null)
                        return CliErrors.Fail($"no complete backup set '{id}' (see ./mailcloud backups)");
                    summary = await new MailboxBackup(account).ImportAsync(set, p.GetValue(force), ct);
                    Console.WriteLine($"restored set {set.Id}:");
                }
                else if (p.GetValue(restoreArg) is { Length: > 0 } folder)
                    summary = await new MailboxBackup(account).ImportAsync(folder, p.GetValue(force), ct);
                else
                    return CliErrors.Fail("give a backup folder, or --stored ID for a set in the backup container");
                Console.WriteLine($"restored {summary.Entities} table rows and {summary.Blobs} messages ({summary.BlobBytes} bytes)");
                return CliErrors.Ok;
            }
            catch (Exception e) when (e is InvalidOperationException or FileNotFoundException)
            {
                return CliErrors.Fail(e.Message);
            }
        }));
        return [backup, backups, restore];
    }
}
