using Azure;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Mime;

namespace MailCloud.Data;

/// <summary>A message to add to a folder: the delivery stage, IMAP APPEND and COPY/MOVE all add through this.</summary>
/// <param name="MessageId">Unique within the folder: a repeated add of the same id adds nothing (idempotent work items).</param>
/// <param name="Properties">The summary columns (see <see cref="MailboxWriter.SummaryProperties"/>) and any extra ones.</param>
public sealed record MailboxEntry(string MessageId, string Blob, long Size, DateTimeOffset InternalDate, string Flags, IReadOnlyDictionary<string, object?> Properties)
{
    /// <summary>
    /// For mail the pipeline delivers: who sent it, its Message-ID and its look, hashed (<see cref="MailboxKeys.ResendKey"/>).
    /// A second message with the same key for the same user is a client's resend of one it never heard the 250
    /// for (RFC 1047), and is not added again.
    /// </summary>
    public string? ResendKey { get; init; }
}

public sealed record AddedEntry(long Uid, long UidValidity, bool AlreadyThere);

/// <summary>The folder does not exist (IMAP answers [TRYCREATE]).</summary>
public sealed class FolderNotFoundException(string folder) : Exception($"folder {folder} does not exist")
{
    public string Folder { get; } = folder;
}

/// <summary>
/// Adds messages to a user's folder. Partition = the user, so the folder's state row (UIDNEXT, HIGHESTMODSEQ,
/// EXISTS, UNSEEN, bytes, the change log), the message rows and their de-duplication rows change in one entity-group
/// transaction guarded by the state row's ETag: atomic, and a repeated add finds its de-duplication row and adds
/// nothing. Blob references are written first: a reference without an entry only delays the blob's clean-up, the
/// reverse would lose mail.
/// </summary>
public sealed class MailboxWriter(TableClient mailboxes, TableClient blobRefs, TimeProvider? time = null)
{
    public static readonly IReadOnlyList<(string Name, string? SpecialUse)> DefaultFolders =
        [("INBOX", null), ("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"), ("Junk", "\\Junk")];

    /// <summary>The 100 actions of one transaction: the folder row, then 2 per message (3 with a resend row).</summary>
    private const int MaxActions = 99;

    private const int MaxProperty = 32_000;

    /// <summary>Payload an entity-group transaction may carry is under 4 MiB; chunks stay under 3 MiB of estimated row size.</summary>
    private const long MaxChunkBytes = 3L << 20;

    /// <summary>At most <see cref="MaxActions"/> actions per transaction, fewer messages when their summaries are large.</summary>
    private static IEnumerable<MailboxEntry[]> Chunks(IReadOnlyList<MailboxEntry> entries)
    {
        var chunk = new List<MailboxEntry>();
        long bytes = 0;
        int actions = 0;
        foreach (var e in entries)
        {
            long size = 1024 + e.Properties.Values.Sum(v => v switch { string s => 2L * s.Length, byte[] b => b.Length, _ => 16L });
            int cost = e.ResendKey is null ? 2 : 3;
            if (chunk.Count > 0 && (actions + cost > MaxActions || bytes + size > MaxChunkBytes))
            {
                yield return [.. chunk];
                chunk.Clear();
                bytes = 0;
                actions = 0;
            }
            chunk.Add(e);
            bytes += size;
            actions += cost;
        }
        if (chunk.Count > 0)
            yield return [.. chunk];
    }

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The folder rows this writer's last adds left, to commit the next add on their ETag without a read.</summary>
    private readonly KnownFolderRows _known = new(time ?? TimeProvider.System);

    /// <summary>Adds that committed on a remembered folder row without reading it, and those whose guess was stale (a failed transaction, then the read).</summary>
    public long KnownRowHits => Interlocked.Read(ref _knownHits);

    /// <inheritdoc cref="KnownRowHits"/>
    public long KnownRowMisses => Interlocked.Read(ref _knownMisses);

    private long _knownHits, _knownMisses;

    /// <summary>
    /// Drops the folder row this writer remembers: the caller (the same process's flag change or expunge) has just
    /// written it, so the next add reads it rather than fail a transaction on the old ETag first.
    /// </summary>
    public void ForgetFolderRow(MailAddress user, string folder) => ForgetFolderRow(TableMailboxUsage.Partition(user), folder);

    internal void ForgetFolderRow(string partition, string folder) => _known.Forget(partition, MailboxKeys.FolderRow(folder));

    /// <param name="contentWritten">The entries' blobs, when they are still being written (APPEND): nothing is committed before it completes, and when it fails nothing is added.</param>
    public async Task<IReadOnlyList<AddedEntry>> AddAsync(MailAddress user, string folder, IReadOnlyList<MailboxEntry> entries, bool createFolder, CancellationToken cancellationToken, Task? contentWritten = null)
    {
        if (entries.Count == 0)
        {
            if (contentWritten is not null)
                await contentWritten.ConfigureAwait(false);
            return [];
        }
        var partition = TableMailboxUsage.Partition(user);
        // The references, the folder's state row and the content still being written, all at once: the transaction
        // waits one round trip, not three one after another. The state row read this early may be stale by the
        // transaction; its ETag guards it, and a conflict reads it again. A row this writer wrote a moment ago is
        // not read at all (KnownFolderRows).
        var references = WriteReferencesAsync(user, partition, folder, entries, cancellationToken);
        var folderRow = MailboxKeys.FolderRow(folder);
        var guess = _known.Get(partition, folderRow);
        var state = guess is null ? mailboxes.GetRowAsync(partition, folderRow, cancellationToken: cancellationToken) : null;
        try
        {
            await references.ConfigureAwait(false);
            if (contentWritten is not null)
                await contentWritten.ConfigureAwait(false);
        }
        catch
        {
            if (state is not null)
                await Observe(state).ConfigureAwait(false);
            if (contentWritten is not null)
                await Observe(contentWritten).ConfigureAwait(false);
            if (contentWritten is { IsCompletedSuccessfully: false })
            {
                // The content was not written and no entry is: references to it would never be visited again
                // (housekeeping walks blobs, not references).
                await DeleteReferencesAsync(partition, folder, entries, bestEffort: true, CancellationToken.None).ConfigureAwait(false);
            }
            throw;
        }
        var results = new List<AddedEntry>(entries.Count);
        try
        {
            var prefetched = state; // for the first chunk only: each later one starts from the row its predecessor left
            foreach (var chunk in Chunks(entries))
            {
                results.AddRange(await AddChunkAsync(user, partition, folder, chunk, createFolder, guess, prefetched, cancellationToken).ConfigureAwait(false));
                prefetched = null;
                guess = _known.Get(partition, folderRow);
            }
        }
        catch (FolderNotFoundException) when (results.Count == 0)
        {
            // Nothing was added: the references just written would keep their blobs alive for ever.
            await DeleteReferencesAsync(partition, folder, entries, bestEffort: false, cancellationToken).ConfigureAwait(false);
            throw;
        }
        return results;
    }

    /// <summary>One partition per blob: no transaction can hold them, so they go in parallel (one round trip for a delivery).</summary>
    private Task WriteReferencesAsync(MailAddress user, string partition, string folder, IReadOnlyList<MailboxEntry> entries, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(entries, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (e, ct) =>
            await blobRefs.UpsertRowAsync(new TableEntity(TableKeys.Escape(e.Blob), MailboxKeys.BlobRefRow(partition, folder, e.MessageId))
            {
                ["User"] = user.Address,
                ["Folder"] = folder,
            }, TableUpdateMode.Replace, ct).ConfigureAwait(false));

    private async Task DeleteReferencesAsync(string partition, string folder, IReadOnlyList<MailboxEntry> entries, bool bestEffort, CancellationToken cancellationToken)
    {
        foreach (var e in entries)
        {
            try
            {
                await blobRefs.DeleteRowAsync(TableKeys.Escape(e.Blob), MailboxKeys.BlobRefRow(partition, folder, e.MessageId), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException) when (bestEffort)
            {
                // Left behind: a reference with no blob costs a row and no mail (the rebuilder counts it as missing).
            }
        }
    }

    private static async Task Observe(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A second failure while the first is being thrown: the first is the one the caller hears of.
        }
    }

    /// <param name="guess">The folder row as this writer last left it, to commit the first attempt on without a read.</param>
    /// <param name="prefetched">Otherwise the folder's state row being read already, for the first attempt.</param>
    private async Task<IReadOnlyList<AddedEntry>> AddChunkAsync(MailAddress user, string partition, string folder, MailboxEntry[] chunk, bool createFolder,
        TableEntity? guess, Task<TableEntity?>? prefetched, CancellationToken cancellationToken)
    {
        var folderRow = MailboxKeys.FolderRow(folder);
        // De-duplication rows known to exist. A new message needs no read of its own: its de-duplication row is added
        // in the transaction, and only when that insert collides (409: a repeated work item) are they read.
        var existing = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
        for (int attempt = 0; ; attempt++)
        {
            // The folder's state row, by a point read: the cost of a delivery does not grow with the mailbox. (The
            // quota usage is the sum of the folder rows' counters, so no per-user row is read or written here.)
            bool guessed = attempt == 0 && guess is not null;
            var state = guessed ? guess
                : attempt == 0 && prefetched is not null ? await prefetched.ConfigureAwait(false)
                : await mailboxes.GetRowAsync(partition, folderRow, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (state is null && !createFolder)
                throw new FolderNotFoundException(folder);
            if (state is null)
                await EnsureDefaultFoldersAsync(partition, folder, cancellationToken).ConfigureAwait(false);

            var now = _time.GetUtcNow();
            var uidValidity = state?.ReadInt64("UidValidity") ?? await ReserveUidValiditiesAsync(partition, 1, cancellationToken).ConfigureAwait(false);
            var uid = state?.ReadInt64("UidNext") ?? 1;
            var modSeq = (state?.ReadInt64("HighestModSeq") ?? 0) + 1;
            var results = new List<AddedEntry>();
            var actions = new List<TableTransactionAction>();
            int added = 0, unseen = 0;
            long bytes = 0;
            // Those known to exist, and those this attempt adds (one id twice in a chunk is added once).
            var seen = new Dictionary<string, TableEntity>(existing, StringComparer.Ordinal);
            foreach (var e in chunk)
            {
                if (Known(seen, folder, e) is { } there)
                {
                    results.Add(new AddedEntry(there.ReadInt64("Uid") ?? 0, there.ReadInt64("UidValidity") ?? 0, AlreadyThere: true));
                    continue;
                }
                var dedup = MailboxKeys.DedupRow(folder, e.MessageId);
                seen[dedup] = new TableEntity(partition, dedup) { ["Uid"] = uid, ["UidValidity"] = uidValidity };
                actions.Add(new(TableTransactionActionType.Add, MessageEntity(partition, folder, uid, modSeq, now, e)));
                actions.Add(new(TableTransactionActionType.Add, seen[dedup]));
                if (e.ResendKey is { } resendKey)
                {
                    // Per user, not per folder: a resend stays out whether the first copy went to Junk or was moved.
                    var resend = MailboxKeys.ResendRow(resendKey);
                    seen[resend] = new TableEntity(partition, resend) { ["Uid"] = uid, ["UidValidity"] = uidValidity, ["Folder"] = folder, ["MessageId"] = e.MessageId };
                    actions.Add(new(TableTransactionActionType.Add, seen[resend]));
                }
                results.Add(new AddedEntry(uid, uidValidity, AlreadyThere: false));
                added++;
                bytes += e.Size;
                if (!MessageFlags.Has(e.Flags, MessageFlags.Seen))
                    unseen++;
                uid++;
            }
            if (added == 0)
                return results;
            var log = FolderChangeLog.Append(state?.ReadString(FolderChangeLog.Column), modSeq, results.Where(r => !r.AlreadyThere).Select(r => r.Uid), []);
            TableEntity written;
            if (state is null)
            {
                written = NewFolder(partition, folder, uidValidity, uid, modSeq, added, unseen);
                written["Bytes"] = bytes;
                written[FolderChangeLog.Column] = log;
                actions.Insert(0, new(TableTransactionActionType.Add, written));
            }
            else
            {
                written = new TableEntity(partition, folderRow)
                {
                    ["UidNext"] = uid,
                    ["HighestModSeq"] = modSeq,
                    ["Exists"] = (state.ReadInt32("Exists") ?? 0) + added,
                    ["Unseen"] = (state.ReadInt32("Unseen") ?? 0) + unseen,
                    ["Bytes"] = (state.ReadInt64("Bytes") ?? 0) + bytes,
                    [FolderChangeLog.Column] = log,
                };
                actions.Insert(0, new(TableTransactionActionType.UpdateMerge, written, state.ETag));
            }
            try
            {
                var response = await mailboxes.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                if (guessed)
                    Interlocked.Increment(ref _knownHits);
                if (response.Value.Count > 0 && response.Value[0].Headers.ETag is { } etag)
                    _known.Remember(TableRows.Followed(state ?? written, written, etag)); // a new folder row is all written
                return results;
            }
            catch (TableTransactionFailedException e) when (guessed && e.Status is 404 or 412)
            {
                // The remembered row is not the folder's any more (someone changed it, or it went): read it, as an
                // add without a remembered row would have. No pause: this is not a race lost, and no attempt is spent.
                Interlocked.Increment(ref _knownMisses);
                _known.Forget(partition, folderRow);
                guess = null;
                attempt--;
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && WriteConflicts.CanRetry(attempt))
            {
                if (e.Status == 409)
                {
                    // An insert collided: a message added before (its de-duplication row is there), or a folder
                    // row created meanwhile. Learn which messages are there already; nothing new learnt = a race.
                    int known = existing.Count;
                    var keys = chunk.Select(c => MailboxKeys.DedupRow(folder, c.MessageId)).Concat(chunk.Select(c => c.ResendKey).OfType<string>().Select(MailboxKeys.ResendRow));
                    var found = await mailboxes.GetRowsAsync(partition, keys, ["RowKey", "Uid", "UidValidity"], cancellationToken).ConfigureAwait(false);
                    foreach (var (key, row) in found)
                        existing[key] = row;
                    if (chunk.All(c => Known(existing, folder, c) is not null))
                        return chunk.Select(c => Known(existing, folder, c)!).Select(r => new AddedEntry(r.ReadInt64("Uid") ?? 0, r.ReadInt64("UidValidity") ?? 0, AlreadyThere: true)).ToList();
                    if (existing.Count > known)
                        continue;
                }
                // Another writer to the same mailbox won the race: read again and take the next UID.
                await WriteConflicts.PauseAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The row that says this entry is there already: its own de-duplication row, or a resend's first copy.</summary>
    private static TableEntity? Known(Dictionary<string, TableEntity> rows, string folder, MailboxEntry e) =>
        rows.TryGetValue(MailboxKeys.DedupRow(folder, e.MessageId), out var row) ? row
        : e.ResendKey is { } k && rows.TryGetValue(MailboxKeys.ResendRow(k), out row) ? row
        : null;

    public static string? SpecialUse(string folder) => DefaultFolders.FirstOrDefault(f => f.Name == folder).SpecialUse;

    /// <summary>A folder's state row.</summary>
    /// <param name="subscribed">The default folders start subscribed; a folder an IMAP client creates does not (it subscribes itself).</param>
    public TableEntity NewFolder(string partition, string name, long uidValidity, long uidNext, long modSeq, int exists, int unseen, bool subscribed = true)
    {
        var e = new TableEntity(partition, MailboxKeys.FolderRow(name))
        {
            ["Name"] = name,
            ["UidValidity"] = uidValidity,
            ["UidNext"] = uidNext,
            ["HighestModSeq"] = modSeq,
            ["Exists"] = exists,
            ["Unseen"] = unseen,
            ["Bytes"] = 0L,
            ["Subscribed"] = subscribed,
            ["Created"] = _time.GetUtcNow(),
        };
        if (SpecialUse(name) is { } specialUse)
            e["SpecialUse"] = specialUse;
        return e;
    }

    /// <summary>The user's row that remembers the last UIDVALIDITY handed out.</summary>
    internal const string UidValidityRow = "uidvalidity";

    /// <summary>
    /// <paramref name="count"/> UIDVALIDITY values never used before by this user, from max(now in seconds, the last
    /// one handed out + 1): a folder deleted and created again within the same second still gets a new one, so no
    /// client keeps a stale cache (RFC 3501 2.3.1.1). Two requests; folders are created rarely.
    /// </summary>
    public async Task<long> ReserveUidValiditiesAsync(string partition, int count, CancellationToken cancellationToken, long floor = 0)
    {
        var row = await mailboxes.GetRowAsync(partition, UidValidityRow, ["Last"], cancellationToken).ConfigureAwait(false);
        var first = Math.Max(Math.Max(_time.GetUtcNow().ToUnixTimeSeconds(), (row?.ReadInt64("Last") ?? 0) + 1), floor);
        await mailboxes.UpsertRowAsync(new TableEntity(partition, UidValidityRow) { ["Last"] = first + count - 1 }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        return first;
    }

    /// <summary>INBOX, Sent, Drafts, Trash and Junk exist for every user from the first message on (SPECIAL-USE).</summary>
    public async Task EnsureDefaultFoldersAsync(string partition, string? except, CancellationToken cancellationToken)
    {
        var uidValidity = await ReserveUidValiditiesAsync(partition, DefaultFolders.Count, cancellationToken).ConfigureAwait(false);
        foreach (var (name, _) in DefaultFolders.Where(f => f.Name != except))
        {
            try
            {
                await mailboxes.AddRowAsync(NewFolder(partition, name, uidValidity++, uidNext: 1, modSeq: 0, exists: 0, unseen: 0), cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                // Already there (created by an earlier attempt or by an IMAP client).
            }
        }
    }

    /// <summary>The columns a message row keeps from the parse, so IMAP never parses a message again.</summary>
    public static Dictionary<string, object?> SummaryProperties(MessageSummary s)
    {
        var p = new Dictionary<string, object?>
        {
            ["Envelope"] = Cap(s.Envelope),
            ["BodyStructure"] = Cap(s.BodyStructure),
            ["Body"] = Cap(s.Body),
            ["Parts"] = Cap(s.Parts),
        };
        foreach (var (name, value) in new[] { ("Subject", s.Subject), ("From", s.From), ("To", s.To), ("Cc", s.Cc), ("MessageIdHeader", s.MessageIdHeader) })
        {
            if (value is not null)
                p[name] = Cap(value);
        }
        if (s.Date is { } date)
            p["Date"] = date;
        if (s.Header is { Length: > 0 and <= MessageSummary.MaxStoredHeader } header)
            p["Header"] = header;
        // A summary larger than a table property holds (32K characters) is marked so IMAP reparses from the blob.
        if (new[] { s.Envelope, s.BodyStructure, s.Body, s.Parts }.Any(v => v.Length > MaxProperty))
            p["SummaryTruncated"] = true;
        return p;
    }

    /// <summary>
    /// A new message for a folder, with its summary columns; <paramref name="spam"/> and <paramref name="verdict"/>
    /// (the filter's findings as JSON) are kept beside them when the pipeline delivered it.
    /// </summary>
    /// <param name="prefix">Header lines served in front of the blob (see <see cref="MessageDetails.Prefix"/>); <paramref name="size"/> and <paramref name="summary"/> already count them.</param>
    public static MailboxEntry Entry(string messageId, string blob, long size, DateTimeOffset internalDate, string flags, MessageSummary summary, bool? spam = null, string? verdict = null, byte[]? prefix = null)
    {
        var p = SummaryProperties(summary);
        if (prefix is { Length: > 0 })
            p["Prefix"] = prefix;
        if (spam is { } s)
            p["Spam"] = s;
        if (verdict is not null)
            p["Verdict"] = Cap(verdict);
        return new MailboxEntry(messageId, blob, size, internalDate, flags, p);
    }

    /// <summary>Columns a copy takes over from its original (everything but keys and per-row state).</summary>
    public static Dictionary<string, object?> CopyProperties(TableEntity source) =>
        source.Columns().Where(p => p.Key is not ("Uid" or "MessageId" or "Blob" or "Size" or "InternalDate" or "Flags" or "ModSeq" or "Indexed"))
            .ToDictionary(p => p.Key, p => p.Value);

    public static string Cap(string value) => value.Length <= MaxProperty ? value : value[..MaxProperty];

    private static TableEntity MessageEntity(string partition, string folder, long uid, long modSeq, DateTimeOffset now, MailboxEntry entry)
    {
        var e = new TableEntity(partition, MailboxKeys.MessageRow(folder, uid));
        foreach (var (name, value) in entry.Properties)
            e[name] = value;
        e["Uid"] = uid;
        e["MessageId"] = entry.MessageId;
        e["Blob"] = entry.Blob;
        e["Size"] = entry.Size;
        e["InternalDate"] = entry.InternalDate;
        e["Flags"] = entry.Flags;
        e["ModSeq"] = modSeq;
        e["Indexed"] = now;
        return e;
    }
}
