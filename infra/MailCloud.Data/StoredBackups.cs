using System.Globalization;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>A complete set in the backup container, as its manifest describes it.</summary>
public sealed record BackupSetInfo(string Id, DateTimeOffset Created, int Entities, int Messages, int MessagesWritten, long MessageBytesWritten, long TableBytes);

/// <summary>
/// How many sets survive a prune: every set of the last 24 hours, and the newest of each of the last
/// <see cref="Daily"/> days and of the last <see cref="Weekly"/> ISO weeks that have sets.
/// </summary>
public sealed record BackupRetention(int Daily = 7, int Weekly = 4);

public sealed record PruneResult(int SetsDeleted, int MessagesDeleted);

/// <summary>
/// Automatic backups: sets written by <see cref="MailboxBackup"/> into a backup container (by default
/// <c>backups</c> in the main account; another account when MAILCLOUD_BACKUP_STORAGE is set). Incremental for
/// messages: one listing of what the container holds, then only new messages are copied. After each run the sets
/// outside the retention are deleted, then messages no kept set lists (older than a day, so a run in progress is
/// never robbed). Restore reads a set like a folder backup.
/// </summary>
public sealed class StoredBackups(StorageAccount source, BlobContainerClient container)
{
    /// <summary>Set ids are their UTC start time, so they sort by age.</summary>
    public static string NewId(DateTimeOffset now) => now.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture);

    public BlobContainerClient Container => container;

    public async Task<(BackupSetInfo Set, PruneResult Pruned)> RunAsync(BackupRetention retention, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        // One listing of the stored messages serves both the incremental copy and the prune after it (what this run
        // adds is listed by its own set and younger than a day, so the prune cannot take it).
        var messages = await ListAsync(StoredBackupSet.MessagesPrefix, cancellationToken).ConfigureAwait(false);
        var id = NewId(now);
        var set = new StoredBackupSet(container, id, messages.Select(b => b.Name[StoredBackupSet.MessagesPrefix.Length..]).ToHashSet(StringComparer.Ordinal));
        var summary = await new MailboxBackup(source).ExportAsync(set, cancellationToken).ConfigureAwait(false);
        var info = new BackupSetInfo(id, now, summary.Entities, summary.Blobs, summary.MessagesWritten, summary.BlobBytes, summary.TableBytes);
        var pruned = await PruneAsync(retention, now, messages, cancellationToken).ConfigureAwait(false);
        return (info, pruned);
    }

    /// <summary>Every complete set (one with a manifest), newest first.</summary>
    public async Task<IReadOnlyList<BackupSetInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        await container.ExistsAsync(cancellationToken).ConfigureAwait(false)
            ? await ReadManifestsAsync(await ListAsync(StoredBackupSet.SetsPrefix, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
            : [];

    private async Task<List<BlobItem>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var blobs = new List<BlobItem>();
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken).ConfigureAwait(false))
            blobs.Add(blob);
        return blobs;
    }

    /// <summary>The sets among <paramref name="setBlobs"/> that have a manifest (one download each), newest first.</summary>
    private async Task<IReadOnlyList<BackupSetInfo>> ReadManifestsAsync(IEnumerable<BlobItem> setBlobs, CancellationToken cancellationToken)
    {
        var sets = new List<BackupSetInfo>();
        // An empty manifest is one still being written by an older version (it streamed the file): not complete yet.
        foreach (var blob in setBlobs.Where(b => b.Name.EndsWith("/" + MailboxBackup.ManifestFile, StringComparison.Ordinal) && b.Properties.ContentLength > 0))
        {
            var id = blob.Name[StoredBackupSet.SetsPrefix.Length..^(MailboxBackup.ManifestFile.Length + 1)];
            var content = (await container.GetBlobClient(blob.Name).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content;
            using var doc = JsonDocument.Parse(content);
            var m = doc.RootElement;
            long Long(string name) => m.TryGetProperty(name, out var v) ? v.GetInt64() : 0;
            sets.Add(new BackupSetInfo(id, m.GetProperty("created").GetDateTimeOffset(), (int)Long("entities"), (int)Long("blobs"), (int)Long("blobsWritten"), Long("blobBytes"), Long("tableBytes")));
        }
        return sets.OrderByDescending(s => s.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>The set to restore: by id, or "latest".</summary>
    public async Task<StoredBackupSet?> OpenAsync(string id, CancellationToken cancellationToken = default)
    {
        var sets = await ListAsync(cancellationToken).ConfigureAwait(false);
        var chosen = id == "latest" ? (sets.Count > 0 ? sets[0] : null) : sets.FirstOrDefault(s => s.Id == id);
        return chosen is null ? null : new StoredBackupSet(container, chosen.Id);
    }

    /// <summary>
    /// Which sets a retention keeps: all of the last day (a set someone is about to restore is not pruned by the next
    /// run of a frequent schedule), the newest set of each of the newest N days and of the newest M weeks.
    /// </summary>
    public static IReadOnlySet<string> Keep(IEnumerable<BackupSetInfo> sets, BackupRetention retention, DateTimeOffset now)
    {
        var newestFirst = sets.OrderByDescending(s => s.Id, StringComparer.Ordinal).ToList();
        var keep = new HashSet<string>(newestFirst.Where(s => s.Created > now - TimeSpan.FromDays(1)).Select(s => s.Id), StringComparer.Ordinal);
        foreach (var day in newestFirst.GroupBy(s => s.Created.UtcDateTime.Date).Take(Math.Max(1, retention.Daily)))
            keep.Add(day.First().Id);
        foreach (var week in newestFirst.GroupBy(s => (ISOWeek.GetYear(s.Created.UtcDateTime), ISOWeek.GetWeekOfYear(s.Created.UtcDateTime))).Take(Math.Max(0, retention.Weekly)))
            keep.Add(week.First().Id);
        return keep;
    }

    /// <param name="messages">The listing of stored messages when the caller has one (else it is listed here).</param>
    public async Task<PruneResult> PruneAsync(BackupRetention retention, DateTimeOffset now, IReadOnlyList<BlobItem>? messages = null, CancellationToken cancellationToken = default)
    {
        var setBlobs = await ListAsync(StoredBackupSet.SetsPrefix, cancellationToken).ConfigureAwait(false);
        var keep = Keep(await ReadManifestsAsync(setBlobs, cancellationToken).ConfigureAwait(false), retention, now);
        int setsDeleted = 0;
        foreach (var group in setBlobs.GroupBy(b => b.Name.Split('/')[1]))
        {
            bool complete = group.Any(b => b.Name.EndsWith("/manifest.json", StringComparison.Ordinal));
            // An incomplete set is a run that died (or one still running: only those older than a day go).
            bool drop = complete ? !keep.Contains(group.Key) : group.All(b => b.Properties.LastModified < now - TimeSpan.FromDays(1));
            if (!drop)
                continue;
            // The manifest first: from then on the set no longer counts as complete, whatever happens to the rest.
            foreach (var blob in group.OrderBy(b => b.Name.EndsWith("/manifest.json", StringComparison.Ordinal) ? 0 : 1))
                await container.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
            setsDeleted += complete ? 1 : 0;
        }
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in keep)
            listed.UnionWith(await new StoredBackupSet(container, id).ListedMessagesAsync(cancellationToken).ConfigureAwait(false));
        int messagesDeleted = 0;
        foreach (var blob in messages ?? await ListAsync(StoredBackupSet.MessagesPrefix, cancellationToken).ConfigureAwait(false))
        {
            if (!listed.Contains(blob.Name[StoredBackupSet.MessagesPrefix.Length..]) && blob.Properties.LastModified < now - TimeSpan.FromDays(1)
                && await container.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: cancellationToken).ConfigureAwait(false))
                messagesDeleted++;
        }
        return new PruneResult(setsDeleted, messagesDeleted);
    }

    /// <summary>The backup container from MAILCLOUD_BACKUP_STORAGE / MAILCLOUD_BACKUP_CONTAINER, or <c>backups</c> in <paramref name="account"/>.</summary>
    public static BackupRetention Retention(MailCloudSettings settings) => new(settings.BackupKeep.Daily, settings.BackupKeep.Weekly);

    /// <summary>The default: container <c>backups</c> of the main account.</summary>
    public static StoredBackups InAccount(StorageAccount account) => new(account, account.Blobs.GetBlobContainerClient(StorageNames.BackupsContainer));

    public static StoredBackups FromSettings(StorageAccount account, MailCloudSettings settings)
    {
        var target = settings.BackupStorage is { } other
            ? new StorageAccount(other.Contains('=', StringComparison.Ordinal) ? StorageConnection.Parse(other)
                : StorageConnection.FromAccount(other, new Azure.Identity.DefaultAzureCredential(new Azure.Identity.DefaultAzureCredentialOptions { ManagedIdentityClientId = Environment.GetEnvironmentVariable("AZURE_CLIENT_ID") })))
            : account;
        return new StoredBackups(account, target.Blobs.GetBlobContainerClient(settings.BackupContainer));
    }
}
