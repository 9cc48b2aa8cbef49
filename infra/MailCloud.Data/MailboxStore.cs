using Azure;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>Row keys of the mailbox table (partition = the user, see <see cref="TableMailboxUsage.Partition"/>).</summary>
public static class MailboxKeys
{
    public const string FolderPrefix = "folder:";
    public static string FolderRow(string folder) => FolderPrefix + Key(folder);
    public static string MessagePrefix(string folder) => $"msg:{Key(folder)}:";
    public static string MessageRow(string folder, long uid) => $"{MessagePrefix(folder)}{uid:D10}";
    public static string DedupRow(string folder, string messageId) => $"id:{Key(folder)}:{messageId}";

    /// <summary>One per user and (envelope sender, Message-ID) the pipeline delivered; see <see cref="MailboxEntry.ResendKey"/>.</summary>
    public static string ResendRow(string resendKey) => $"rs:{resendKey}";

    /// <summary>
    /// Envelope sender, Message-ID and what the message looks like (its IMAP ENVELOPE and BODYSTRUCTURE: subject,
    /// date, addresses, every part's type and size), hashed: the same message sent again by a client that did not
    /// hear our 250. The sender is part of it so a list's copy (sent by the list) and a direct copy stay two
    /// messages; the fingerprint so a sender reusing a Message-ID for a different message is not mistaken for a
    /// resend. Null without a Message-ID.
    /// </summary>
    public static string? ResendKey(string envelopeSender, string? messageIdHeader, string fingerprint) =>
        string.IsNullOrWhiteSpace(messageIdHeader) ? null
        : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            envelopeSender.ToLowerInvariant() + "\n" + messageIdHeader.Trim() + "\n" + fingerprint)))[..32];
    public static string BlobRefRow(string partition, string folder, string messageId) => $"{partition}|{Key(folder)}|{messageId}";

    /// <summary>A folder name inside a row key; ':' is escaped too, so folder "a" never prefixes folder "a:b".</summary>
    private static string Key(string folder) => TableKeys.Escape(folder).Replace(":", "%3A", StringComparison.Ordinal);
    public const string LockPrefix = "lock:";

    /// <summary>The highest UID of a folder some IMAP4rev1 session has already been told of as \Recent.</summary>
    public static string RecentRow(string folder, long uidValidity) => $"recent:{Key(folder)}:{uidValidity}"; // a new UIDVALIDITY starts afresh

    /// <summary>A subscription: a name, whether or not a folder of that name exists (RFC 3501 6.3.6).</summary>
    public const string SubscriptionPrefix = "sub:";
    public static string SubscriptionRow(string name) => SubscriptionPrefix + Key(name);
}

/// <summary>One message of a folder as the access protocols need it (no summary fields).</summary>
public sealed record MailboxMessage(long Uid, long Size, string Blob, string MessageId, string Flags, long ModSeq = 0, DateTimeOffset InternalDate = default);

/// <summary>A folder's state row.</summary>
/// <param name="Bytes">Total size of the folder's messages (STATUS SIZE).</param>
public sealed record FolderInfo(string Name, long UidValidity, long UidNext, long HighestModSeq, int Exists, int Unseen, bool Subscribed, string? SpecialUse, long Bytes = 0)
{
    /// <summary>The folder's recent changes (<see cref="FolderChangeLog"/>), when the row was read with it.</summary>
    public string? ChangeLog { get; init; }

    /// <summary>The folder's flag runs (<see cref="FlagRuns"/>), when the row was read with them: rows read after this row compose with them.</summary>
    public IReadOnlyList<FlagRun> Runs { get; init; } = [];
}

/// <summary>A folder as a session opens it: its state and its messages in UID order.</summary>
public sealed record FolderSnapshot(long UidValidity, IReadOnlyList<MailboxMessage> Messages, FolderInfo? Folder = null)
{
    /// <summary>Every message's <see cref="MessageDetail.Summary"/> columns, when the open was asked to read them along.</summary>
    public IReadOnlyList<MessageDetails>? Summaries { get; init; }
}

/// <summary>A message whose flags a STORE changed, with its new MODSEQ.</summary>
public sealed record FlagChange(long Uid, string Flags, long ModSeq);

/// <summary>
/// What a flag update did: the changes, the messages left alone because they changed since UNCHANGEDSINCE, and the
/// folder's HIGHESTMODSEQ before and after each transaction (a caller that knew the first "before" value knows
/// that nothing else changed the folder in between when the steps chain up).
/// </summary>
public sealed record FlagUpdateResult(IReadOnlyList<FlagChange> Changed, IReadOnlyList<long> Modified, IReadOnlyList<(long Before, long After)> Steps)
{
    /// <summary>The folder's HIGHESTMODSEQ after this update, if the update followed <paramref name="known"/> with no change by anyone else in between.</summary>
    public long? ContinuesFrom(long known)
    {
        foreach (var (before, after) in Steps)
        {
            if (before != known)
                return null;
            known = after;
        }
        return known;
    }
}

/// <summary>
/// Reading and changing mailboxes for the access protocols (IMAP, POP3): folders (list, create, delete, rename,
/// subscribe), message lists and changes since a MODSEQ, flag updates and expunges. Every change to a folder's
/// messages also changes its state row (HIGHESTMODSEQ, EXISTS, UNSEEN) in the same entity-group transaction,
/// guarded by ETags, so concurrent sessions and deliveries never lose an update. Also a per-user lock with expiry
/// (POP3's one-maildrop-session rule).
/// </summary>
public sealed partial class MailboxStore(TableClient mailboxes, TableClient blobRefs, TimeProvider? time = null) : IMailboxStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly GroupedMailboxAdds _grouped = new(new MailboxWriter(mailboxes, blobRefs, time));

    private static readonly string[] MessageColumns = ["RowKey", "Uid", "Size", "Blob", "MessageId", "Flags", "ModSeq", "InternalDate"];

    /// <summary>The list's columns and the summaries' in one read: a table request costs the same however wide its rows.</summary>
    private static readonly string[] MessageAndSummaryColumns = [.. MessageColumns.Union(MessageRows.Columns(MessageDetail.Summary)!)];
    private static readonly string[] FolderColumns = ["RowKey", "Name", "UidValidity", "UidNext", "HighestModSeq", "Exists", "Unseen", "Subscribed", "SpecialUse", "Bytes"];

    /// <summary>A single folder's state row with its change log (lists of folders leave the log out).</summary>
    private static readonly string[] FolderWithLogColumns = [.. FolderColumns, FolderChangeLog.Column, FlagRuns.Column];

    public MailboxWriter Writer => _grouped.Writer;

    public MailboxStore(StorageAccount account, TimeProvider? time = null)
        : this(account.Tables.GetTableClient(StorageNames.MailboxTable), account.Tables.GetTableClient(StorageNames.BlobRefsTable), time)
    {
    }

    public Task<IReadOnlyList<AddedEntry>> AddAsync(MailAddress user, string folder, IReadOnlyList<MailboxEntry> entries, bool createFolder, CancellationToken cancellationToken = default) =>
        AddCoreAsync(user, folder, entries, createFolder, null, cancellationToken);

    public Task<IReadOnlyList<AddedEntry>> AddAsync(MailAddress user, string folder, IReadOnlyList<MailboxEntry> entries, bool createFolder, Task contentWritten, CancellationToken cancellationToken = default) =>
        AddCoreAsync(user, folder, entries, createFolder, contentWritten, cancellationToken);

    /// <summary>
    /// One message (APPEND, a webmail save) is committed with the others this host's sessions add to the folder at
    /// the same time (<see cref="GroupedMailboxAdds"/>); several (COPY) are one add of their own already.
    /// </summary>
    private async Task<IReadOnlyList<AddedEntry>> AddCoreAsync(MailAddress user, string folder, IReadOnlyList<MailboxEntry> entries, bool createFolder, Task? contentWritten, CancellationToken cancellationToken) =>
        entries.Count == 1
            ? [await _grouped.AddAsync(user, folder, entries[0], createFolder, cancellationToken, contentWritten).ConfigureAwait(false)]
            : await Writer.AddAsync(user, folder, entries, createFolder, cancellationToken, contentWritten).ConfigureAwait(false);

    /// <summary>
    /// A folder's state (a point read), then its messages (RowKey ranges: the folder's rows only). Not one query
    /// with an <c>or</c>, which Table storage would serve by scanning the user's whole partition. The state is read
    /// first so the messages are at least as new as the HIGHESTMODSEQ the caller goes on from.
    /// </summary>
    public Task<FolderSnapshot> OpenAsync(MailAddress user, string folder, CancellationToken cancellationToken = default) =>
        OpenAsync(user, folder, summariesUpTo: 0, cancellationToken);

    /// <summary>
    /// As <see cref="OpenAsync(MailAddress, string, CancellationToken)"/>; a folder of at most
    /// <paramref name="summariesUpTo"/> messages is read with its summary columns in the same requests.
    /// </summary>
    public async Task<FolderSnapshot> OpenAsync(MailAddress user, string folder, int summariesUpTo, CancellationToken cancellationToken = default)
    {
        var info = await GetFolderAsync(user, folder, cancellationToken).ConfigureAwait(false);
        return info is null ? new FolderSnapshot(0, [], null) : await ReadMessagesAsync(user, info, summariesUpTo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The messages of a folder whose state row the caller has just read (rows compose with its flag runs).</summary>
    public Task<FolderSnapshot> OpenAsync(MailAddress user, FolderInfo folder, int summariesUpTo, CancellationToken cancellationToken = default) =>
        ReadMessagesAsync(user, folder, summariesUpTo, cancellationToken);

    private async Task<FolderSnapshot> ReadMessagesAsync(MailAddress user, FolderInfo info, int summariesUpTo, CancellationToken cancellationToken)
    {
        var folder = info.Name;
        var partition = TableMailboxUsage.Partition(user);
        // A large folder is read as ranges of UIDs in parallel, each at most a page (1,000 UIDs, so 1,000 rows) when
        // the folder is dense, and about half a page by its density when it is sparse (long expunged stretches); a
        // range that still holds more pages on. Rows at or above UIDNEXT are newer than the state row and are left for
        // the next catch-up.
        int parts = info.Exists <= PageUids ? 1
            : (int)Math.Min(64, Math.Min((info.UidNext - 1 + PageUids - 1) / PageUids, (info.Exists + PageUids / 2 - 1) / (PageUids / 2)));
        var filters = parts == 1
            ? [TableFilter.And(TableFilter.PartitionKey(partition), TableFilter.RowKeyPrefix(MailboxKeys.MessagePrefix(folder)))]
            : Enumerable.Range(0, parts).Select(i =>
            {
                long span = (info.UidNext - 1 + parts - 1) / parts;
                return UidRange(partition, folder, 1 + i * span, i == parts - 1 ? info.UidNext - 1 : (i + 1) * span);
            }).ToList();
        bool withSummaries = info.Exists <= summariesUpTo;
        var columns = withSummaries ? MessageAndSummaryColumns : MessageColumns;
        var read = new List<MailboxMessage>[filters.Count];
        var summaries = new List<MessageDetails>[filters.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, filters.Count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var rows = new List<MailboxMessage>();
            var details = new List<MessageDetails>();
            await foreach (var e in mailboxes.QueryRowsAsync(filters[i], columns, cancellationToken: ct).ConfigureAwait(false))
            {
                rows.Add(ToMessage(e, info.Runs));
                if (withSummaries)
                    details.Add(MessageRows.Read(e, MessageDetail.Summary, []) with { Flags = string.Empty }); // flags change; summaries are kept
            }
            read[i] = rows;
            summaries[i] = details;
        }).ConfigureAwait(false);
        var list = new List<MailboxMessage>(info.Exists);
        foreach (var rows in read)
            list.AddRange(rows);
        list.Sort((a, b) => a.Uid.CompareTo(b.Uid));
        return new FolderSnapshot(info.UidValidity, list, info) { Summaries = withSummaries ? summaries.SelectMany(d => d).ToList() : null };
    }

    public async Task<FolderInfo?> GetFolderAsync(MailAddress user, string folder, CancellationToken cancellationToken = default)
    {
        var e = await mailboxes.GetRowAsync(TableMailboxUsage.Partition(user), MailboxKeys.FolderRow(folder), FolderWithLogColumns, cancellationToken).ConfigureAwait(false);
        return e is null ? null : ToFolder(e);
    }

    /// <summary>The highest UID already claimed as \Recent (0 when none): one point read.</summary>
    public async Task<long> GetRecentClaimAsync(MailAddress user, string folder, long uidValidity, CancellationToken cancellationToken = default) =>
        (await mailboxes.GetRowAsync(TableMailboxUsage.Partition(user), MailboxKeys.RecentRow(folder, uidValidity), ["Uid"], cancellationToken).ConfigureAwait(false))?.ReadInt64("Uid") ?? 0;

    /// <summary>
    /// Claims the messages up to <paramref name="upToUid"/> as \Recent for the calling session and returns the claim
    /// it replaced: the messages after that one are recent for this session and for no other (RFC 3501 2.3.2). A row of
    /// its own, so claims never collide with deliveries and flag changes on the folder row.
    /// </summary>
    public async Task<long> ClaimRecentAsync(MailAddress user, string folder, long uidValidity, long upToUid, CancellationToken cancellationToken = default)
    {
        var partition = TableMailboxUsage.Partition(user);
        var rowKey = MailboxKeys.RecentRow(folder, uidValidity);
        for (int attempt = 0; ; attempt++)
        {
            var row = await mailboxes.GetRowAsync(partition, rowKey, ["Uid"], cancellationToken).ConfigureAwait(false);
            var previous = row?.ReadInt64("Uid") ?? 0;
            if (previous >= upToUid)
                return previous;
            var claim = new TableEntity(partition, rowKey) { ["Uid"] = upToUid };
            try
            {
                if (row is null)
                    await mailboxes.AddRowAsync(claim, cancellationToken).ConfigureAwait(false);
                else
                    await mailboxes.UpdateRowAsync(claim, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return previous;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412 && WriteConflicts.CanRetry(attempt))
            {
                // Another session claimed meanwhile: read its claim and try again.
                await WriteConflicts.PauseAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The subscribed names (one range query): subscription rows, plus those of <paramref name="folders"/> (the caller
    /// has just listed them, so they are not read again) still carrying the subscribed flag folder rows had before
    /// subscriptions got rows of their own (the default folders keep it).
    /// </summary>
    public async Task<IReadOnlySet<string>> ListSubscriptionsAsync(MailAddress user, IEnumerable<FolderInfo> folders, CancellationToken cancellationToken = default)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var filter = TableFilter.And(TableFilter.PartitionKey(TableMailboxUsage.Partition(user)), TableFilter.RowKeyPrefix(MailboxKeys.SubscriptionPrefix));
        await foreach (var e in mailboxes.QueryRowsAsync(filter, ["RowKey", "Name"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (e.ReadString("Name") is { } name)
                names.Add(name);
        }
        names.UnionWith(folders.Where(f => f.Subscribed).Select(f => f.Name));
        return names;
    }

    public async Task<IReadOnlyList<FolderInfo>> ListFoldersAsync(MailAddress user, CancellationToken cancellationToken = default)
    {
        var filter = TableFilter.And(TableFilter.PartitionKey(TableMailboxUsage.Partition(user)), TableFilter.RowKeyPrefix(MailboxKeys.FolderPrefix));
        var list = new List<FolderInfo>();
        await foreach (var e in mailboxes.QueryRowsAsync(filter, FolderColumns, cancellationToken: cancellationToken).ConfigureAwait(false))
            list.Add(ToFolder(e));
        return list;
    }

    /// <summary>
    /// Messages added or changed after <paramref name="modSeq"/> (expunged ones leave no row): one query on the rows'
    /// MODSEQ, and the ranges of the flag runs written since (their rows keep an older MODSEQ), read after the folder
    /// row that lists the runs.
    /// </summary>
    public async Task<IReadOnlyList<MailboxMessage>> ChangedSinceAsync(MailAddress user, string folder, long modSeq, CancellationToken cancellationToken = default)
    {
        var partition = TableMailboxUsage.Partition(user);
        var state = await mailboxes.GetRowAsync(partition, MailboxKeys.FolderRow(folder), ["RowKey", FlagRuns.Column], cancellationToken).ConfigureAwait(false);
        var runs = FlagRuns.Parse(state?.ReadString(FlagRuns.Column));
        var filters = new List<string> { TableFilter.And(TableFilter.PartitionKey(partition), TableFilter.RowKeyPrefix(MailboxKeys.MessagePrefix(folder)), $"ModSeq gt {modSeq}L") };
        var ranges = new List<(long First, long Last)>();
        foreach (var run in runs.Where(r => r.ModSeq > modSeq).OrderBy(r => r.FirstUid))
        {
            if (ranges.Count > 0 && run.FirstUid <= ranges[^1].Last + 1)
                ranges[^1] = (ranges[^1].First, Math.Max(ranges[^1].Last, run.LastUid)); // overlapping runs: one read
            else
                ranges.Add((run.FirstUid, run.LastUid));
        }
        foreach (var (first, last) in ranges)
        {
            filters.Add(UidRange(partition, folder, first, last));
        }
        var found = new Dictionary<long, MailboxMessage>();
        foreach (var filter in filters)
        {
            await foreach (var e in mailboxes.QueryRowsAsync(filter, MessageColumns, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var m = ToMessage(e, runs);
                if (m.ModSeq > modSeq)
                    found[m.Uid] = m;
            }
        }
        return found.Values.OrderBy(m => m.Uid).ToList();
    }

    /// <summary>
    /// From the change log the folder's state row carries (<paramref name="folder"/> was just read): the rows it names
    /// after <paramref name="modSeq"/>, by point reads or short ranges. Null when the log does not reach back.
    /// </summary>
    public async Task<FolderChangeSet?> ReadChangeLogAsync(MailAddress user, FolderInfo folder, long modSeq, CancellationToken cancellationToken = default)
    {
        var partition = TableMailboxUsage.Partition(user);
        if (FolderChangeLog.Read(folder.ChangeLog, modSeq, folder.HighestModSeq) is not var (changed, expunged))
            return null;
        var rows = changed.Count == 0 ? [] : await ReadMessageRowsAsync(partition, folder.Name, changed.Order().ToList(), MessageColumns, cancellationToken).ConfigureAwait(false);
        // A row already changed again after the folder row was read is left for the next catch-up (its newer change
        // is in a later log entry), so nobody is shown a MODSEQ above the HIGHESTMODSEQ they are told.
        return new FolderChangeSet(rows.Values.Select(e => ToMessage(e, folder.Runs)).Where(m => m.ModSeq <= folder.HighestModSeq).OrderBy(m => m.Uid).ToList(), expunged);
    }

    /// <summary>The UIDs a folder holds now (to find messages other sessions expunged).</summary>
    public async Task<HashSet<long>> ListUidsAsync(MailAddress user, string folder, CancellationToken cancellationToken = default)
    {
        var filter = TableFilter.And(TableFilter.PartitionKey(TableMailboxUsage.Partition(user)), TableFilter.RowKeyPrefix(MailboxKeys.MessagePrefix(folder)));
        var set = new HashSet<long>();
        await foreach (var e in mailboxes.QueryRowsAsync(filter, ["RowKey", "Uid"], cancellationToken: cancellationToken).ConfigureAwait(false))
            set.Add(e.ReadInt64("Uid") ?? 0);
        return set;
    }

    /// <summary>
    /// Message rows with UIDs in [<paramref name="firstUid"/>, <paramref name="lastUid"/>], with the columns
    /// <paramref name="detail"/> needs. A detail with flags (a listing, a copy) also reads the folder's flag runs, in
    /// parallel and before the rows.
    /// </summary>
    public async IAsyncEnumerable<MessageDetails> QueryMessagesAsync(MailAddress user, string folder, long firstUid, long lastUid, MessageDetail detail,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var runs = RunsFor(user, folder, detail, cancellationToken);
        var filter = UidRange(TableMailboxUsage.Partition(user), folder, firstUid, lastUid);
        await using var rows = mailboxes.QueryRowsAsync(filter, MessageRows.Columns(detail), cancellationToken: cancellationToken).GetAsyncEnumerator(cancellationToken);
        bool any = await rows.MoveNextAsync().ConfigureAwait(false);
        var composed = await runs.ConfigureAwait(false);
        for (; any; any = await rows.MoveNextAsync().ConfigureAwait(false))
            yield return MessageRows.Read(rows.Current, detail, composed);
    }

    /// <summary>One message row by UID (a point read, cheaper than a range query for a single message; with the folder's runs for a detail with flags).</summary>
    public async Task<MessageDetails?> GetMessageAsync(MailAddress user, string folder, long uid, MessageDetail detail, CancellationToken cancellationToken = default)
    {
        var runs = RunsFor(user, folder, detail, cancellationToken);
        var row = await mailboxes.GetRowAsync(TableMailboxUsage.Partition(user), MailboxKeys.MessageRow(folder, uid), MessageRows.Columns(detail), cancellationToken).ConfigureAwait(false);
        var composed = await runs.ConfigureAwait(false);
        return row is null ? null : MessageRows.Read(row, detail, composed);
    }

    /// <summary>The folder's flag runs when <paramref name="detail"/> carries flags (a point read started now); none otherwise.</summary>
    private async Task<IReadOnlyList<FlagRun>> RunsFor(MailAddress user, string folder, MessageDetail detail, CancellationToken cancellationToken)
    {
        if (!MessageRows.HasFlags(detail))
            return [];
        var state = await mailboxes.GetRowAsync(TableMailboxUsage.Partition(user), MailboxKeys.FolderRow(folder), ["RowKey", FlagRuns.Column], cancellationToken).ConfigureAwait(false);
        return FlagRuns.Parse(state?.ReadString(FlagRuns.Column));
    }

    public Task<(long UsedBytes, int Messages)> GetUsageAsync(MailAddress user, CancellationToken cancellationToken = default) =>
        TableMailboxUsage.SumAsync(mailboxes, user, cancellationToken);

    /// <summary>Creates the default folders of a user who has none yet (IMAP logins before the first delivery).</summary>
    public async Task EnsureDefaultFoldersAsync(MailAddress user, CancellationToken cancellationToken = default)
    {
        var partition = TableMailboxUsage.Partition(user);
        if (await mailboxes.GetRowAsync(partition, MailboxKeys.FolderRow("INBOX"), ["RowKey"], cancellationToken).ConfigureAwait(false) is null)
            await Writer.EnsureDefaultFoldersAsync(partition, except: null, cancellationToken).ConfigureAwait(false);
    }

    private static FolderInfo ToFolder(TableEntity e) => new(
        e.ReadString("Name") ?? e.RowKey[MailboxKeys.FolderPrefix.Length..],
        e.ReadInt64("UidValidity") ?? 0, e.ReadInt64("UidNext") ?? 1, e.ReadInt64("HighestModSeq") ?? 0,
        e.ReadInt32("Exists") ?? 0, e.ReadInt32("Unseen") ?? 0, e.ReadBoolean("Subscribed") ?? false, e.ReadString("SpecialUse"), e.ReadInt64("Bytes") ?? 0)
    {
        ChangeLog = e.ReadString(FolderChangeLog.Column),
        Runs = FlagRuns.Parse(e.ReadString(FlagRuns.Column)),
    };

    /// <summary>A message row as the protocols see it: flags and MODSEQ composed with the folder's runs.</summary>
    private static MailboxMessage ToMessage(TableEntity e, IReadOnlyList<FlagRun> runs)
    {
        var (flags, modSeq) = Composed(runs, e);
        return new(e.ReadInt64("Uid") ?? 0, e.ReadInt64("Size") ?? 0, e.ReadString("Blob") ?? string.Empty, e.ReadString("MessageId") ?? string.Empty, flags,
            modSeq, e.ReadDate("InternalDate") ?? default);
    }

    /// <summary>Takes a named per-user lock for <paramref name="ttl"/>; null when another holder's lock has not expired.</summary>
    public async Task<IAsyncDisposable?> TryLockAsync(MailAddress user, string name, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var partition = TableMailboxUsage.Partition(user);
        var row = MailboxKeys.LockPrefix + name;
        var owner = Guid.NewGuid().ToString("N");
        var entity = new TableEntity(partition, row) { ["Owner"] = owner, ["Expires"] = _time.GetUtcNow() + ttl };
        try
        {
            await mailboxes.AddRowAsync(entity, cancellationToken).ConfigureAwait(false);
            return new MailboxLock(mailboxes, partition, row, entity.ETag);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var current = await mailboxes.GetRowAsync(partition, row, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (current is not null && current.ReadDate("Expires") > _time.GetUtcNow())
                return null;
            try
            {
                // Expired (a session that died): take it over, but only if nobody else just did.
                var etag = await mailboxes.UpdateRowAsync(entity, current?.ETag ?? ETag.All, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return new MailboxLock(mailboxes, partition, row, etag);
            }
            catch (RequestFailedException e2) when (e2.Status is 404 or 412)
            {
                return null;
            }
        }
    }
}

/// <summary>A held mailbox lock; disposing releases it (only if it is still ours).</summary>
public sealed class MailboxLock(TableClient table, string partition, string row, ETag etag) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        try
        {
            await table.DeleteRowAsync(partition, row, etag).ConfigureAwait(false);
        }
        catch (RequestFailedException)
        {
            // Expired and taken over, or storage unavailable: the expiry frees it either way.
        }
    }
}
