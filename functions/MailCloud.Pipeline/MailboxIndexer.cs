using System.Text.Json;
using Azure;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.Pipeline;

public sealed record IndexResult(long Uid, long UidValidity, bool AlreadyIndexed);

/// <summary>
/// Adds a message to a user's folder in the mailbox table. Partition = the user, so the folder's state row
/// (UIDNEXT, HIGHESTMODSEQ, EXISTS), the message row, the de-duplication row and the quota usage row change in one
/// entity-group transaction guarded by the state row's ETag: atomic, and a repeated work item finds its
/// de-duplication row and adds nothing.
/// </summary>
public sealed class MailboxIndexer(TableClient mailboxes, TableClient blobRefs, TimeProvider? time = null)
{
    public static readonly IReadOnlyList<(string Name, string? SpecialUse)> DefaultFolders =
        [("INBOX", null), ("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"), ("Junk", "\\Junk")];

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<IndexResult> IndexAsync(MailAddress user, IndexWorkItem item, CancellationToken cancellationToken)
    {
        var partition = TableMailboxUsage.Partition(user);
        var folderRow = MailboxKeys.FolderRow(item.Folder);
        var dedupRow = MailboxKeys.DedupRow(item.Folder, item.MessageId);

        // The reference first: a reference without an entry only delays the blob's clean-up; the reverse would lose mail.
        await blobRefs.UpsertEntityAsync(new TableEntity(TableKeys.Escape(item.MessageBlob), MailboxKeys.BlobRefRow(partition, item.Folder, item.MessageId))
        {
            ["User"] = user.Address,
            ["Folder"] = item.Folder,
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);

        for (int attempt = 0; ; attempt++)
        {
            TableEntity? state = null, usage = null, dedup = null;
            var filter = TableFilter.And(TableFilter.PartitionKey(partition),
                $"RowKey eq {TableFilter.Quote(folderRow)} or RowKey eq {TableFilter.Quote(TableMailboxUsage.UsageRow)} or RowKey eq {TableFilter.Quote(dedupRow)}");
            await foreach (var e in mailboxes.QueryAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (e.RowKey == folderRow)
                    state = e;
                else if (e.RowKey == dedupRow)
                    dedup = e;
                else
                    usage = e;
            }
            if (dedup is not null)
                return new IndexResult(dedup.GetInt64("Uid") ?? 0, dedup.GetInt64("UidValidity") ?? 0, AlreadyIndexed: true);
            if (usage is null)
                await EnsureDefaultFoldersAsync(partition, item.Folder, cancellationToken).ConfigureAwait(false);

            var now = _time.GetUtcNow();
            var actions = new List<TableTransactionAction>();
            long uid, modSeq, uidValidity;
            if (state is null)
            {
                uid = 1;
                modSeq = 1;
                uidValidity = now.ToUnixTimeSeconds();
                actions.Add(new TableTransactionAction(TableTransactionActionType.Add, NewFolder(partition, item.Folder, SpecialUse(item.Folder), uidValidity, uidNext: 2, modSeq: 1, exists: 1)));
            }
            else
            {
                uid = state.GetInt64("UidNext") ?? 1;
                modSeq = (state.GetInt64("HighestModSeq") ?? 0) + 1;
                uidValidity = state.GetInt64("UidValidity") ?? 0;
                actions.Add(new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity(partition, folderRow)
                {
                    ["UidNext"] = uid + 1,
                    ["HighestModSeq"] = modSeq,
                    ["Exists"] = (state.GetInt32("Exists") ?? 0) + 1,
                }, state.ETag));
            }
            actions.Add(new TableTransactionAction(TableTransactionActionType.Add, MessageEntity(partition, uid, modSeq, now, item)));
            actions.Add(new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(partition, dedupRow) { ["Uid"] = uid, ["UidValidity"] = uidValidity }));
            if (usage is null)
                actions.Add(new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(partition, TableMailboxUsage.UsageRow) { ["UsedBytes"] = item.Size, ["Messages"] = 1 }));
            else
                actions.Add(new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity(partition, TableMailboxUsage.UsageRow)
                {
                    ["UsedBytes"] = (usage.GetInt64("UsedBytes") ?? 0) + item.Size,
                    ["Messages"] = (usage.GetInt32("Messages") ?? 0) + 1,
                }, usage.ETag));
            try
            {
                await mailboxes.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                return new IndexResult(uid, uidValidity, AlreadyIndexed: false);
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && attempt < 20)
            {
                // Another delivery to the same mailbox won the race: read again and take the next UID.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(10, 50 * (attempt + 1))), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string? SpecialUse(string folder) => DefaultFolders.FirstOrDefault(f => f.Name == folder).SpecialUse;

    private TableEntity NewFolder(string partition, string name, string? specialUse, long uidValidity, long uidNext, long modSeq, int exists)
    {
        var e = new TableEntity(partition, MailboxKeys.FolderRow(name))
        {
            ["Name"] = name,
            ["UidValidity"] = uidValidity,
            ["UidNext"] = uidNext,
            ["HighestModSeq"] = modSeq,
            ["Exists"] = exists,
            ["Subscribed"] = true,
            ["Created"] = _time.GetUtcNow(),
        };
        if (specialUse is not null)
            e["SpecialUse"] = specialUse;
        return e;
    }

    /// <summary>INBOX, Sent, Drafts, Trash and Junk exist for every user from the first message on (SPECIAL-USE).</summary>
    private async Task EnsureDefaultFoldersAsync(string partition, string except, CancellationToken cancellationToken)
    {
        var uidValidity = _time.GetUtcNow().ToUnixTimeSeconds();
        foreach (var (name, specialUse) in DefaultFolders.Where(f => f.Name != except))
        {
            try
            {
                await mailboxes.AddEntityAsync(NewFolder(partition, name, specialUse, uidValidity, uidNext: 1, modSeq: 0, exists: 0), cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                // Already there (created by an earlier attempt or by an IMAP client).
            }
        }
    }

    private static TableEntity MessageEntity(string partition, long uid, long modSeq, DateTimeOffset now, IndexWorkItem item)
    {
        var s = item.Summary;
        var e = new TableEntity(partition, MailboxKeys.MessageRow(item.Folder, uid))
        {
            ["Uid"] = uid,
            ["MessageId"] = item.MessageId,
            ["Blob"] = item.MessageBlob,
            ["Size"] = item.Size,
            ["InternalDate"] = item.ReceivedAt,
            ["Flags"] = string.Empty,
            ["ModSeq"] = modSeq,
            ["Indexed"] = now,
            ["Envelope"] = Cap(s.Envelope),
            ["BodyStructure"] = Cap(s.BodyStructure),
            ["Body"] = Cap(s.Body),
            ["Parts"] = Cap(s.Parts),
            ["Spam"] = item.Verdict.Spam,
            ["Verdict"] = Cap(JsonSerializer.Serialize(item.Verdict, WorkItemJson.Options)),
        };
        foreach (var (name, value) in new[] { ("Subject", s.Subject), ("From", s.From), ("To", s.To), ("Cc", s.Cc), ("MessageIdHeader", s.MessageIdHeader) })
        {
            if (value is not null)
                e[name] = Cap(value);
        }
        if (s.Date is { } date)
            e["Date"] = date;
        // A summary larger than a table property holds (32K characters) is marked so IMAP reparses from the blob.
        if (new[] { s.Envelope, s.BodyStructure, s.Body, s.Parts }.Any(v => v.Length > MaxProperty))
            e["SummaryTruncated"] = true;
        return e;
    }

    private const int MaxProperty = 32_000;

    private static string Cap(string value) => value.Length <= MaxProperty ? value : value[..MaxProperty];
}
