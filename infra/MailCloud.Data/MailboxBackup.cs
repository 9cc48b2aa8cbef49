using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <param name="BlobBytes">Bytes of the messages written (for a stored set: only those no earlier set had).</param>
public sealed record BackupSummary(int Entities, int Blobs, long BlobBytes)
{
    /// <summary>Messages this backup wrote; fewer than <see cref="Blobs"/> for a stored set that shares messages with earlier ones.</summary>
    public int MessagesWritten { get; init; }
    public long TableBytes { get; init; }
}

/// <summary>
/// Backup and restore of a MailCloud account to a folder or a stored set (<see cref="IBackupSink"/>): the directory (domains, users with their SCRAM verifiers,
/// aliases, lists, DKIM keys or their Key Vault names), the mailbox index and blob references as JSON lines, and every
/// raw message a mailbox entry references. Rows are read before blobs, so every message a saved row names is saved
/// too (blobs are never changed, and only deleted 30 days after the last reference). Mail still in a queue is not
/// part of a backup; locks are skipped. A restore writes blobs first, then rows, so a restored row never points at
/// a missing message.
/// </summary>
public sealed class MailboxBackup(StorageAccount account)
{
    /// <summary>Written last: a backup with it is complete.</summary>
    public const string ManifestFile = "manifest.json";

    public const int FormatVersion = 1;
    public static readonly IReadOnlyList<string> Tables = [StorageNames.DirectoryTable, StorageNames.MailboxTable, StorageNames.BlobRefsTable];

    /// <summary>A transaction carries at most 100 entities and 4 MiB; stay below both.</summary>
    private const int BatchBytes = 3 * 1024 * 1024;

    public Task<BackupSummary> ExportAsync(string folder, CancellationToken cancellationToken = default) =>
        ExportAsync(new FolderBackup(folder), cancellationToken);

    /// <summary>Writes a backup to <paramref name="sink"/>; the manifest last, so a backup without one is known to be incomplete.</summary>
    public async Task<BackupSummary> ExportAsync(IBackupSink sink, CancellationToken cancellationToken = default)
    {
        int entities = 0;
        long tableBytes = 0;
        var blobs = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var table in Tables)
        {
            await using var stream = new CountingWriteStream(await sink.CreateFileAsync($"tables/{table}.jsonl", cancellationToken).ConfigureAwait(false));
            await using (var file = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true))
            {
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
            tableBytes += stream.BytesWritten;
        }
        var container = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        long bytes = 0;
        int written = 0;
        foreach (var name in blobs)
        {
            if (!sink.NeedsMessage(name))
                continue;
            var download = (await container.GetBlobClient(name).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            await using var content = download.Content;
            await sink.WriteMessageAsync(name, content, cancellationToken).ConfigureAwait(false);
            bytes += download.Details.ContentLength;
            written++;
        }
        await sink.CompleteMessagesAsync(blobs, cancellationToken).ConfigureAwait(false);
        var summary = new BackupSummary(entities, blobs.Count, bytes) { MessagesWritten = written, TableBytes = tableBytes };
        await sink.WriteManifestAsync(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["format"] = FormatVersion,
            ["created"] = DateTimeOffset.UtcNow,
            ["entities"] = entities,
            ["blobs"] = blobs.Count,
            ["blobBytes"] = bytes,
            ["blobsWritten"] = written,
            ["tableBytes"] = tableBytes,
        }), cancellationToken).ConfigureAwait(false);
        return summary;
    }

    public Task<BackupSummary> ImportAsync(string folder, bool force = false, CancellationToken cancellationToken = default) =>
        File.Exists(Path.Combine(folder, ManifestFile))
            ? ImportAsync(new FolderBackup(folder), force, cancellationToken)
            : throw new FileNotFoundException($"{folder} is not a MailCloud backup (no manifest.json)");

    /// <summary>Restores a backup; refuses (InvalidOperationException) to write into an account that already hosts domains unless <paramref name="force"/>.</summary>
    public async Task<BackupSummary> ImportAsync(IBackupSource source, bool force = false, CancellationToken cancellationToken = default)
    {
        await using (var manifest = await source.OpenFileAsync(ManifestFile, cancellationToken).ConfigureAwait(false)
            ?? throw new FileNotFoundException("not a complete MailCloud backup (no manifest.json)"))
        {
            using var doc = await JsonDocument.ParseAsync(manifest, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (doc.RootElement.GetProperty("format").GetInt32() != FormatVersion)
                throw new InvalidOperationException($"backup format {doc.RootElement.GetProperty("format")} is not supported (expected {FormatVersion})");
        }
        await StorageProvisioner.EnsureCreatedAsync(account, cancellationToken).ConfigureAwait(false);
        if (!force && (await account.Tables.GetTableClient(StorageNames.DirectoryTable).QueryFirstPageAsync(null, null, 1, cancellationToken).ConfigureAwait(false)).Count > 0)
            throw new InvalidOperationException("the target storage already has a directory; restore into empty storage (or pass --force to merge)");

        // Stored folder indexes describe the rows being replaced (a restored folder keeps its UIDVALIDITY, and its
        // MODSEQ may pass an index's again): they go, and hosts read the restored rows.
        await new BlobFolderIndexSnapshots(account).ClearAsync(cancellationToken).ConfigureAwait(false);

        // Messages first: a restored row must never name a message that is not there yet.
        var container = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        int blobs = 0;
        long bytes = 0;
        await foreach (var name in source.MessagesAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var content = new CountingReadStream(await source.OpenMessageAsync(name, cancellationToken).ConfigureAwait(false));
            await container.GetBlobClient(name).UploadAsync(content, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "message/rfc822" }, TransferOptions = account.TransferOptions }, cancellationToken).ConfigureAwait(false);
            bytes += content.BytesRead;
            blobs++;
        }
        int entities = 0;
        foreach (var table in Tables)
        {
            await using var file = await source.OpenFileAsync($"tables/{table}.jsonl", cancellationToken).ConfigureAwait(false);
            if (file is null)
                continue;
            var client = account.Tables.GetTableClient(table);
            var rows = new List<(TableEntity Entity, int Size)>();
            using (var reader = new StreamReader(file, Encoding.UTF8))
            {
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                {
                    if (line.Length == 0)
                        continue;
                    using var doc = JsonDocument.Parse(line);
                    rows.Add((EntityJson.Deserialize(doc.RootElement), line.Length));
                }
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
}
