using MailCloud.Core;

namespace MailCloud.Data;

/// <summary>Which stored columns of a message a caller needs (each maps to a column set read in one request).</summary>
public enum MessageDetail
{
    /// <summary>ENVELOPE, BODY, BODYSTRUCTURE, the part map and the raw header block: FETCH.</summary>
    Summary,

    /// <summary>Subject, addresses, Date, the part map and the header block: SEARCH.</summary>
    Search,

    /// <summary>Everything a copy into another folder takes over: COPY and MOVE.</summary>
    Copy,

    /// <summary>Just what serving the bytes needs (blob, size, prefix): POP3 RETR and TOP.</summary>
    Content,

    /// <summary>A message list line with its current flags (webmail): flags, size, dates, subject, addresses, header block, blob and prefix (so the read view needs no second row read). Never cached, flags change.</summary>
    Listing,
}

/// <summary>A message row as the access protocols read it, typed; which fields are set depends on the <see cref="MessageDetail"/> asked for.</summary>
public sealed record MessageDetails(long Uid, string Blob)
{
    public long Size { get; init; }
    public DateTimeOffset InternalDate { get; init; }
    public string Flags { get; init; } = string.Empty;
    public string MessageId { get; init; } = string.Empty;
    public string? Envelope { get; init; }
    public string? Body { get; init; }
    public string? BodyStructure { get; init; }

    /// <summary>The stored part map (<see cref="Mime.PartMap"/>): byte offsets of every section.</summary>
    public string? Parts { get; init; }

    /// <summary>The raw root header block, when it was small enough to keep in the row.</summary>
    public byte[]? Header { get; init; }

    /// <summary>
    /// Header lines the delivery added in front of the blob's bytes (Authentication-Results, the spam verdict):
    /// the message served is these bytes followed by the blob. Size, part offsets and <see cref="Header"/> count them.
    /// </summary>
    public byte[]? Prefix { get; init; }

    /// <summary>The stored summary was too large for a table column: reparse from the blob.</summary>
    public bool SummaryTruncated { get; init; }

    public string? Subject { get; init; }
    public string? From { get; init; }
    public string? To { get; init; }
    public string? Cc { get; init; }
    public DateTimeOffset? Date { get; init; }

    /// <summary>The summary columns a copy carries over unchanged (opaque to callers).</summary>
    public IReadOnlyDictionary<string, object?> CopyColumns { get; init; } = new Dictionary<string, object?>();

    /// <summary>An entry that adds this message to another folder under a new id (same blob).</summary>
    public MailboxEntry CopyAs(string messageId) => new(messageId, Blob, Size, InternalDate, Flags, CopyColumns);
}

/// <summary>
/// Every message of a folder (UID, flags and MODSEQ as readers compose them) when its HIGHESTMODSEQ was
/// <see cref="HighestModSeq"/>: deliveries, expunges and flag changes all move it, so a folder still at that MODSEQ
/// still holds exactly these.
/// </summary>
public sealed record FolderKnowledge(long HighestModSeq, IReadOnlyList<MailboxMessage> Messages);

/// <summary>
/// What IMAP, POP3 and the web front end read and change in mailboxes. <see cref="MailboxStore"/> is the Table
/// storage implementation; the sessions' unit tests run over an in-memory one.
/// </summary>
public interface IMailboxStore
{
    Task<FolderSnapshot> OpenAsync(MailAddress user, string folder, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens a folder; when it holds at most <paramref name="summariesUpTo"/> messages, a store may read every
    /// message's summary in the same requests (<see cref="FolderSnapshot.Summaries"/>) for a cache to keep.
    /// </summary>
    Task<FolderSnapshot> OpenAsync(MailAddress user, string folder, int summariesUpTo, CancellationToken cancellationToken = default) =>
        OpenAsync(user, folder, cancellationToken);

    /// <summary>
    /// <see cref="OpenAsync(MailAddress, string, int, CancellationToken)"/> for a caller that has just read the folder's
    /// state row (<paramref name="folder"/>): a store may read only the messages, composed with that row's flag runs.
    /// </summary>
    Task<FolderSnapshot> OpenAsync(MailAddress user, FolderInfo folder, int summariesUpTo, CancellationToken cancellationToken = default) =>
        OpenAsync(user, folder.Name, summariesUpTo, cancellationToken);
    Task<FolderInfo?> GetFolderAsync(MailAddress user, string folder, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<FolderInfo>> ListFoldersAsync(MailAddress user, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<MailboxMessage>> ChangedSinceAsync(MailAddress user, string folder, long modSeq, CancellationToken cancellationToken = default);
    Task<HashSet<long>> ListUidsAsync(MailAddress user, string folder, CancellationToken cancellationToken = default);

    /// <summary>
    /// What changed after <paramref name="modSeq"/> up to <paramref name="folder"/>'s HIGHESTMODSEQ, from the folder's
    /// change log (no scan of the folder); null when the log does not go back that far, and the caller uses
    /// <see cref="ChangedSinceAsync"/> and <see cref="ListUidsAsync"/> instead.
    /// </summary>
    Task<FolderChangeSet?> ReadChangeLogAsync(MailAddress user, FolderInfo folder, long modSeq, CancellationToken cancellationToken = default);

    /// <summary>Messages with UIDs in [<paramref name="firstUid"/>, <paramref name="lastUid"/>] (a range read).</summary>
    IAsyncEnumerable<MessageDetails> QueryMessagesAsync(MailAddress user, string folder, long firstUid, long lastUid, MessageDetail detail, CancellationToken cancellationToken = default);

    /// <summary>One message by UID (a point read); null when it is gone.</summary>
    Task<MessageDetails?> GetMessageAsync(MailAddress user, string folder, long uid, MessageDetail detail, CancellationToken cancellationToken = default);

    Task<(long UsedBytes, int Messages)> GetUsageAsync(MailAddress user, CancellationToken cancellationToken = default);
    Task EnsureDefaultFoldersAsync(MailAddress user, CancellationToken cancellationToken = default);
    Task<bool> CreateFolderAsync(MailAddress user, string name, CancellationToken cancellationToken = default);
    Task<bool> DeleteFolderAsync(MailAddress user, string name, CancellationToken cancellationToken = default);
    /// <summary>The highest UID already claimed as \Recent by some session (0 when none).</summary>
    Task<long> GetRecentClaimAsync(MailAddress user, string folder, long uidValidity, CancellationToken cancellationToken = default);

    /// <summary>Claims the messages up to <paramref name="upToUid"/> as \Recent; returns the previous claim (the messages after it are recent for the caller only).</summary>
    Task<long> ClaimRecentAsync(MailAddress user, string folder, long uidValidity, long upToUid, CancellationToken cancellationToken = default);

    /// <summary>The names the user subscribed to, existing or not; <paramref name="folders"/> is the folder list the caller already has.</summary>
    Task<IReadOnlySet<string>> ListSubscriptionsAsync(MailAddress user, IEnumerable<FolderInfo> folders, CancellationToken cancellationToken = default);

    Task<bool> SetSubscribedAsync(MailAddress user, string name, bool subscribed, CancellationToken cancellationToken = default);
    Task RenameFolderAsync(MailAddress user, string from, string to, CancellationToken cancellationToken = default);

    /// <summary>Adds messages to a folder (APPEND, COPY): throws <see cref="FolderNotFoundException"/> when it does not exist and <paramref name="createFolder"/> is false.</summary>
    Task<IReadOnlyList<AddedEntry>> AddAsync(MailAddress user, string folder, IReadOnlyList<MailboxEntry> entries, bool createFolder, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="AddAsync(MailAddress, string, IReadOnlyList{MailboxEntry}, bool, CancellationToken)"/> for messages
    /// whose blobs are still being written: a store may read and prepare meanwhile, and commits no entry before
    /// <paramref name="contentWritten"/> has completed (an entry without its blob would be a lost message). When it
    /// fails, nothing is added and its exception is thrown.
    /// </summary>
    async Task<IReadOnlyList<AddedEntry>> AddAsync(MailAddress user, string folder, IReadOnlyList<MailboxEntry> entries, bool createFolder, Task contentWritten, CancellationToken cancellationToken = default)
    {
        await contentWritten.ConfigureAwait(false);
        return await AddAsync(user, folder, entries, createFolder, cancellationToken).ConfigureAwait(false);
    }

    Task<FlagUpdateResult> UpdateFlagsAsync(MailAddress user, string folder, IReadOnlyList<long> uids, FlagEdit edit, long? unchangedSince = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// A flag change by a caller that holds the whole folder as of one MODSEQ (<paramref name="known"/>, a host's
    /// folder cache): a store may take the messages' flags from it instead of reading them, when the folder is still
    /// at that MODSEQ. The answer is the same as without it.
    /// </summary>
    Task<FlagUpdateResult> UpdateFlagsAsync(MailAddress user, string folder, IReadOnlyList<long> uids, FlagEdit edit, FolderKnowledge known, CancellationToken cancellationToken = default) =>
        UpdateFlagsAsync(user, folder, uids, edit, unchangedSince: null, cancellationToken);
    Task<IReadOnlyList<long>> ExpungeAsync(MailAddress user, string folder, IReadOnlyList<MailboxMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>Takes a named per-user lock for <paramref name="ttl"/>; null when another holder's lock has not expired. Disposing releases it.</summary>
    Task<IAsyncDisposable?> TryLockAsync(MailAddress user, string name, TimeSpan ttl, CancellationToken cancellationToken = default);
}
