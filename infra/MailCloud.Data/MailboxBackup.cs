using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

public sealed record BackupSummary(int Entities, int Blobs, long BlobBytes);

/// <summary>
/// Backup and restore of a MailCloud account to a folder: the directory (domains, users with their SCRAM verifiers,
/// aliases, lists, DKIM keys or their Key Vault names), the mailbox index and blob references as JSON lines, and every
/// raw message a mailbox entry references. Rows are read before blobs, so every message a saved row names is saved
/// too (blobs are never changed, and only deleted 30 days after the last reference). Mail still in a queue is not
/// part of a backup; locks are skipped. A restore writes blobs first, then rows, so a restored row never points at
/// a missing message.
/// </summary>
public sealed class MailboxBackup(StorageAccount account)
{
    public const int FormatVersion = 1;
    public static readonly IReadOnlyList<string> Tables = [StorageNames.DirectoryTable, StorageNames.MailboxTable, StorageNames.BlobRefsTable];

    /// <summary>A transaction carries at most 100 entities and 4 MiB; stay below both.</summary>
    private const int BatchBytes = 3 * 1024 * 1024;

    public async Task<BackupSummary> ExportAsync(string folder, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Path.Combine(folder, "tables"));
        int entities = 0;
        var blobs = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var table in Tables)
        {
            await using var file = new StreamWriter(Path.Combine(folder, "tables", table + ".jsonl"), false, new UTF8Encoding(false));
            await foreach (var e in account.Tables.GetTableClient(table).QueryRowsAsync(null, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (table == StorageNames.MailboxTable && e.RowKey.StartsWith(MailboxKeys.LockPrefix, StringComparison.Ordinal))
                    continue; // a session's lock is not data
                if (table == StorageNames.MailboxTable && e.RowKey.StartsWith("msg:", StringComparison.Ordinal) && e.ReadString("Blob") is { Length: > 0 } blob)
                    blobs.Add(blob);
                await file.WriteLineAsync(Encoding.UTF8.GetString(EntityJson.Serialize(e))).ConfigureAwait(false);
                entities++;
            }
        }
        var container = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        long bytes = 0;
        foreach (var name in blobs)
        {
            var path = BlobPath(folder, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var download = (await container.GetBlobClient(name).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            await using var content = download.Content;
            await using var target = File.Create(path);
            await content.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
            bytes += target.Length;
        }
        var summary = new BackupSummary(entities, blobs.Count, bytes);
        await File.WriteAllTextAsync(Path.Combine(folder, "manifest.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["format"] = FormatVersion,
            ["created"] = DateTimeOffset.UtcNow,
            ["entities"] = entities,
            ["blobs"] = blobs.Count,
            ["blobBytes"] = bytes,
        }), cancellationToken).ConfigureAwait(false);
        return summary;
    }

    /// <summary>Restores a backup; refuses (InvalidOperationException) to write into an account that already hosts domains unless <paramref name="force"/>.</summary>
    public async Task<BackupSummary> ImportAsync(string folder, bool force = false, CancellationToken cancellationToken = default)
    {
        var manifest = Path.Combine(folder, "manifest.json");
        if (!File.Exists(manifest))
            throw new FileNotFoundException($"{folder} is not a MailCloud backup (no manifest.json)");
        using (var doc = JsonDocument.Parse(await File.ReadAllTextAsync(manifest, cancellationToken).ConfigureAwait(false)))
        {
            if (doc.RootElement.GetProperty("format").GetInt32() != FormatVersion)
                throw new InvalidOperationException($"backup format {doc.RootElement.GetProperty("format")} is not supported (expected {FormatVersion})");
        }
        await StorageProvisioner.EnsureCreatedAsync(account, cancellationToken).ConfigureAwait(false);
        if (!force && (await account.Tables.GetTableClient(StorageNames.DirectoryTable).QueryFirstPageAsync(null, null, 1, cancellationToken).ConfigureAwait(false)).Count > 0)
            throw new InvalidOperationException("the target storage already has a directory; restore into empty storage (or pass --force to merge)");

        // Messages first: a restored row must never name a message that is not there yet.
        var container = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        var blobRoot = Path.Combine(folder, "blobs");
        int blobs = 0;
        long bytes = 0;
        if (Directory.Exists(blobRoot))
        {
            foreach (var path in Directory.EnumerateFiles(blobRoot, "*", SearchOption.AllDirectories))
            {
                var name = Path.GetRelativePath(blobRoot, path).Replace(Path.DirectorySeparatorChar, '/');
                await using var source = File.OpenRead(path);
                bytes += source.Length;
                await container.GetBlobClient(name).UploadAsync(source, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "message/rfc822" }, TransferOptions = account.TransferOptions }, cancellationToken).ConfigureAwait(false);
                blobs++;
            }
        }
        int entities = 0;
        foreach (var table in Tables)
        {
            var path = Path.Combine(folder, "tables", table + ".jsonl");
            if (!File.Exists(path))
                continue;
            var client = account.Tables.GetTableClient(table);
            var rows = new List<(TableEntity Entity, int Size)>();
            foreach (var line in await File.ReadAllLinesAsync(path, cancellationToken).ConfigureAwait(false))
            {
                if (line.Length == 0)
                    continue;
                using var doc = JsonDocument.Parse(line);
                rows.Add((EntityJson.Deserialize(doc.RootElement), line.Length));
            }
            foreach (var partition in rows.GroupBy(r => r.Entity.PartitionKey))
            {
                var batch = new List<TableTransactionAction>();
                int size = 0;
                foreach (var (entity, rowSize) in partition)
                {
                    if (batch.Count == 100 || size + rowSize > BatchBytes)
                    {
                        await client.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
                        batch.Clear();
                        size = 0;
                    }
                    batch.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity));
                    size += rowSize;
                    entities++;
                }
                if (batch.Count > 0)
                    await client.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
            }
        }
        return new BackupSummary(entities, blobs, bytes);
    }

    private static string BlobPath(string folder, string name)
    {
        // Blob names are ours (yyyy/MM/dd/id.eml); refuse anything that would leave the backup folder.
        if (name.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(name))
            throw new InvalidOperationException($"unexpected blob name {name}");
        return Path.Combine(folder, "blobs", name.Replace('/', Path.DirectorySeparatorChar));
    }
}
