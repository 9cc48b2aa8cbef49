using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Mime;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>What a rebuild found and did.</summary>
public sealed record RebuildResult(int References, int Added, int AlreadyIndexed, int MissingBlobs, IReadOnlyList<string> Folders);

/// <summary>
/// Rebuilds a user's mailbox rows from what survives outside them: the blob-reference rows (one per mailbox entry:
/// user, folder, entry id, in a partition named after the raw message's blob) and the blobs themselves. Every
/// referenced message goes back into its folder through the ordinary add path (summaries parsed again from the
/// bytes); an entry still indexed is found by its de-duplication row and left alone, so a rebuild can be repeated
/// and a partial loss is repaired without doubles. What only the lost rows held cannot come back: flags (messages
/// return unread and unflagged), UIDs (each folder gets a new UIDVALIDITY and numbers in arrival order), the
/// verdict header lines delivery put in front of the bytes, and subscriptions. Reading the references is a scan of
/// the blob-reference table filtered on the user (it is partitioned by blob, not by user): an operator's repair,
/// not a routine call.
/// </summary>
public sealed class MailboxRebuilder(StorageAccount account)
{
    private readonly TableClient _refs = account.Tables.GetTableClient(StorageNames.BlobRefsTable);
    private readonly MailboxStore _store = new(account);
    private readonly BlobMessageContent _messages = new(account);

    public async Task<RebuildResult> RebuildAsync(MailAddress user, CancellationToken cancellationToken = default)
    {
        var entries = new List<(string Folder, string Blob, string MessageId)>();
        await foreach (var row in _refs.QueryRowsAsync(TableFilter.Equal("User", user.Address), ["PartitionKey", "RowKey", "Folder"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var folder = row.ReadString("Folder");
            if (folder is null || row.RowKey.LastIndexOf('|') is not (> 0 and var bar))
                continue;
            entries.Add((folder, TableKeys.Unescape(row.PartitionKey), row.RowKey[(bar + 1)..]));
        }
        await _store.EnsureDefaultFoldersAsync(user, cancellationToken).ConfigureAwait(false);
        int added = 0, already = 0, missing = 0;
        foreach (var folder in entries.GroupBy(e => e.Folder))
        {
            var batch = new List<MailboxEntry>();
            // Oldest first (message ids are time-ordered), so the new UIDs keep the order they arrived in.
            foreach (var (_, blob, messageId) in folder.OrderBy(e => e.MessageId, StringComparer.Ordinal))
            {
                byte[] bytes;
                try
                {
                    bytes = await _messages.ReadAllAsync(blob, cancellationToken).ConfigureAwait(false);
                }
                catch (Azure.RequestFailedException e) when (e.Status == 404)
                {
                    missing++;
                    continue;
                }
                var summary = MessageSummary.Of(MimeParser.Parse(bytes, new MimeParserOptions { KeepRootHeaderUpTo = MessageSummary.MaxStoredHeader }));
                batch.Add(MailboxWriter.Entry(messageId, blob, bytes.Length, ReceivedAt(messageId, summary), string.Empty, summary));
                if (batch.Count == 20)
                    (added, already) = Count(await _store.AddAsync(user, folder.Key, batch, createFolder: true, cancellationToken).ConfigureAwait(false), added, already, batch);
            }
            if (batch.Count > 0)
                (added, already) = Count(await _store.AddAsync(user, folder.Key, batch, createFolder: true, cancellationToken).ConfigureAwait(false), added, already, batch);
        }
        return new RebuildResult(entries.Count, added, already, missing, entries.Select(e => e.Folder).Distinct().Order(StringComparer.Ordinal).ToList());
    }

    private static (int Added, int Already) Count(IReadOnlyList<AddedEntry> results, int added, int already, List<MailboxEntry> batch)
    {
        batch.Clear();
        return (added + results.Count(r => !r.AlreadyThere), already + results.Count(r => r.AlreadyThere));
    }

    /// <summary>The internal date: the time in the entry id (yyyyMMddHHmmssfff…), else the Date header, else now.</summary>
    private static DateTimeOffset ReceivedAt(string messageId, MessageSummary summary) =>
        messageId.Length >= 17 && DateTimeOffset.TryParseExact(messageId[..17], "yyyyMMddHHmmssfff", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at : summary.Date ?? DateTimeOffset.UtcNow;
}
