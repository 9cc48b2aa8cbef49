using System.Runtime.CompilerServices;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Data;

namespace MailCloud.UnitTests.Sessions;

/// <summary>
/// Mailboxes and raw messages in memory, with the same rules as the Table storage store (UIDs, UIDVALIDITY,
/// HIGHESTMODSEQ per change, one MODSEQ per flag update, de-duplication by message id, folder counters), so the
/// IMAP and POP3 sessions can be tested without Azurite. One lock: correctness, not concurrency, is what these test.
/// </summary>
internal sealed class InMemoryMailStore : IMailboxStore, IMessageContent
{
    private sealed class Folder(string name, long uidValidity, string? specialUse)
    {
        public string Name { get; set; } = name;
        public long UidValidity { get; } = uidValidity;
        public long UidNext { get; set; } = 1;
        public long HighestModSeq { get; set; } = 1;
        public bool Subscribed { get; set; } = true;
        public string? SpecialUse { get; } = specialUse;
        public SortedDictionary<long, (MailboxEntry Entry, string Flags, long ModSeq)> Messages { get; } = [];
    }

    private readonly object _lock = new();
    private readonly Dictionary<(string User, string Folder), Folder> _folders = [];
    private readonly Dictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private readonly HashSet<(string User, string Name)> _locks = [];
    private long _nextValidity = 1000;

    public int BlobReads { get; private set; }

    /// <summary>While set, every mailbox read and change fails as a storage outage would (503 after the client's retries).</summary>
    public bool Down { get; set; }

    private void ThrowIfDown()
    {
        if (Down)
            throw new Azure.RequestFailedException(503, "storage is down (test)");
    }


    // --- IMessageContent ---

    public Task<Stream> OpenReadAsync(string blob, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        var bytes = Read(blob);
        var count = (int)Math.Min(length ?? long.MaxValue, bytes.Length - offset);
        return Task.FromResult<Stream>(new MemoryStream(bytes, (int)offset, count, writable: false));
    }

    public Task<byte[]> ReadAllAsync(string blob, CancellationToken cancellationToken = default) => Task.FromResult(Read(blob).ToArray());

    public Task WriteAsync(string blob, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_blobs.TryAdd(blob, content.ToArray()))
                throw new InvalidOperationException($"blob {blob} exists");
        }
        return Task.CompletedTask;
    }

    private byte[] Read(string blob)
    {
        ThrowIfDown();
        lock (_lock)
        {
            BlobReads++;
            return _blobs.TryGetValue(blob, out var b) ? b : throw new FileNotFoundException(blob);
        }
    }

    /// <summary>Delivers a message as the index stage would (the blob stored first, then the entry).</summary>
    /// <param name="prefix">Header lines served in front of the blob, as the inbound stage adds its verdict.</param>
    public async Task<AddedEntry> DeliverAsync(MailAddress user, byte[] message, string folder = "INBOX", string flags = "", byte[]? prefix = null)
    {
        var id = MessageIds.New(DateTimeOffset.UtcNow);
        var blob = $"test/{id}.eml";
        await WriteAsync(blob, message);
        var summary = Mime.MessageSummary.Of(Mime.MimeParser.Parse(message, new Mime.MimeParserOptions { KeepRootHeaderUpTo = Mime.MessageSummary.MaxStoredHeader }));
        if (prefix is not null)
            summary = summary.WithPrefix(prefix);
        return (await AddAsync(user, folder, [MailboxWriter.Entry(id, blob, message.Length + (prefix?.Length ?? 0), DateTimeOffset.UtcNow, flags, summary, prefix: prefix)], createFolder: true))[0];
    }

    // --- IMailboxStore ---

    private static string Key(MailAddress user) => user.Address.ToLowerInvariant();

    private Folder? Find(MailAddress user, string name) => _folders.GetValueOrDefault((Key(user), name));

    private static FolderInfo Info(Folder f) => new(f.Name, f.UidValidity, f.UidNext, f.HighestModSeq, f.Messages.Count,
        f.Messages.Values.Count(m => !MessageFlags.Has(m.Flags, MessageFlags.Seen)), f.Subscribed, f.SpecialUse, f.Messages.Values.Sum(m => m.Entry.Size));

    private static MailboxMessage Message(long uid, (MailboxEntry Entry, string Flags, long ModSeq) m) =>
        new(uid, m.Entry.Size, m.Entry.Blob, m.Entry.MessageId, m.Flags, m.ModSeq, m.Entry.InternalDate);

    public Task<FolderSnapshot> OpenAsync(MailAddress user, string folder, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        lock (_lock)
        {
            var f = Find(user, folder);
            return Task.FromResult(f is null ? new FolderSnapshot(0, []) : new FolderSnapshot(f.UidValidity, f.Messages.Select(m => Message(m.Key, m.Value)).ToList(), Info(f)));
        }
    }

    public Task<FolderInfo?> GetFolderAsync(MailAddress user, string folder, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        lock (_lock)
            return Task.FromResult(Find(user, folder) is { } f ? Info(f) : null);
    }

    public Task<IReadOnlyList<FolderInfo>> ListFoldersAsync(MailAddress user, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        lock (_lock)
            return Task.FromResult<IReadOnlyList<FolderInfo>>(_folders.Where(f => f.Key.User == Key(user)).Select(f => Info(f.Value)).OrderBy(f => f.Name, StringComparer.Ordinal).ToList());
    }

    public Task<IReadOnlyList<MailboxMessage>> ChangedSinceAsync(MailAddress user, string folder, long modSeq, CancellationToken cancellationToken = default)
    {
        lock (_lock)
            return Task.FromResult<IReadOnlyList<MailboxMessage>>(Find(user, folder)?.Messages.Where(m => m.Value.ModSeq > modSeq).Select(m => Message(m.Key, m.Value)).ToList() ?? []);
    }

    /// <summary>No change log here: callers take the fallback (<see cref="ChangedSinceAsync"/> and <see cref="ListUidsAsync"/>).</summary>
    public Task<FolderChangeSet?> ReadChangeLogAsync(MailAddress user, FolderInfo folder, long modSeq, CancellationToken cancellationToken = default) =>
        Task.FromResult<FolderChangeSet?>(null);

    public Task<HashSet<long>> ListUidsAsync(MailAddress user, string folder, CancellationToken cancellationToken = default)
    {
        lock (_lock)
            return Task.FromResult(Find(user, folder)?.Messages.Keys.ToHashSet() ?? []);
    }

    public async IAsyncEnumerable<MessageDetails> QueryMessagesAsync(MailAddress user, string folder, long firstUid, long lastUid, MessageDetail detail, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        List<MessageDetails> rows;
        lock (_lock)
            rows = Find(user, folder)?.Messages.Where(m => m.Key >= firstUid && m.Key <= lastUid).Select(m => Details(m.Key, m.Value, detail)).ToList() ?? [];
        foreach (var r in rows)
        {
            await Task.Yield();
            yield return r;
        }
    }

    public Task<MessageDetails?> GetMessageAsync(MailAddress user, string folder, long uid, MessageDetail detail, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        lock (_lock)
            return Task.FromResult(Find(user, folder) is { } f && f.Messages.TryGetValue(uid, out var m) ? Details(uid, m, detail) : null);
    }

    /// <summary>The row as the table would hold it, read back through the one reader of message rows.</summary>
    private static MessageDetails Details(long uid, (MailboxEntry Entry, string Flags, long ModSeq) m, MessageDetail detail)
    {
        var row = new TableEntity("p", "r");
        foreach (var (k, v) in m.Entry.Properties)
            row[k] = v;
        row["Uid"] = uid;
        row["Blob"] = m.Entry.Blob;
        row["Size"] = m.Entry.Size;
        row["MessageId"] = m.Entry.MessageId;
        row["InternalDate"] = m.Entry.InternalDate;
        row["Flags"] = m.Flags;
        row["ModSeq"] = m.ModSeq;
        return MessageRows.Read(row, detail, []);
    }

    public Task<(long UsedBytes, int Messages)> GetUsageAsync(MailAddress user, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var mine = _folders.Where(f => f.Key.User == Key(user)).SelectMany(f => f.Value.Messages.Values).ToList();
            return Task.FromResult((mine.Sum(m => m.Entry.Size), mine.Count));
        }
    }

    public Task EnsureDefaultFoldersAsync(MailAddress user, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            foreach (var (name, use) in MailboxWriter.DefaultFolders)
                _folders.TryAdd((Key(user), name), new Folder(name, _nextValidity++, use));
        }
        return Task.CompletedTask;
    }

    public Task<bool> CreateFolderAsync(MailAddress user, string name, CancellationToken cancellationToken = default)
    {
        lock (_lock)
            return Task.FromResult(_folders.TryAdd((Key(user), name), new Folder(name, _nextValidity++, MailboxWriter.SpecialUse(name)) { Subscribed = false }));
    }

    public Task<bool> DeleteFolderAsync(MailAddress user, string name, CancellationToken cancellationToken = default)
    {
        lock (_lock)
            return Task.FromResult(_folders.Remove((Key(user), name)));
    }

    private readonly HashSet<(string User, string Name)> _subscriptions = [];
    private readonly Dictionary<(string User, string Folder), long> _recent = [];

    public Task<long> GetRecentClaimAsync(MailAddress user, string folder, long uidValidity, CancellationToken cancellationToken = default)
    {
        lock (_lock)
            return Task.FromResult(_recent.GetValueOrDefault((Key(user), $"{folder}:{uidValidity}")));
    }

    public Task<long> ClaimRecentAsync(MailAddress user, string folder, long uidValidity, long upToUid, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var previous = _recent.GetValueOrDefault((Key(user), $"{folder}:{uidValidity}"));
            if (upToUid > previous)
                _recent[(Key(user), $"{folder}:{uidValidity}")] = upToUid;
            return Task.FromResult(previous);
        }
    }

    public Task<bool> SetSubscribedAsync(MailAddress user, string name, bool subscribed, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (subscribed)
                _subscriptions.Add((Key(user), name));
            else
                _subscriptions.Remove((Key(user), name));
            if (Find(user, name) is { } f && !subscribed)
                f.Subscribed = false;
            return Task.FromResult(true);
        }
    }

    public Task<IReadOnlySet<string>> ListSubscriptionsAsync(MailAddress user, IEnumerable<FolderInfo> folders, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var names = _subscriptions.Where(s => s.User == Key(user)).Select(s => s.Name)
                .Concat(folders.Where(f => f.Subscribed).Select(f => f.Name)).ToHashSet(StringComparer.Ordinal);
            return Task.FromResult<IReadOnlySet<string>>(names);
        }
    }

    public Task RenameFolderAsync(MailAddress user, string from, string to, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_folders.Remove((Key(user), from), out var f))
                throw new FolderNotFoundException(from);
            var renamed = new Folder(to, _nextValidity++, f.SpecialUse) { UidNext = f.UidNext, HighestModSeq = f.HighestModSeq + 1, Subscribed = f.Subscribed };
            foreach (var m in f.Messages)
                renamed.Messages[m.Key] = m.Value;
            _folders[(Key(user), to)] = renamed;
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<AddedEntry>> AddAsync(MailAddress user, string folder, IReadOnlyList<MailboxEntry> entries, bool createFolder, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var f = Find(user, folder);
            if (f is null)
            {
                if (!createFolder)
                    throw new FolderNotFoundException(folder);
                f = _folders[(Key(user), folder)] = new Folder(folder, _nextValidity++, MailboxWriter.SpecialUse(folder));
            }
            var added = new List<AddedEntry>();
            foreach (var e in entries)
            {
                var existing = f.Messages.FirstOrDefault(m => m.Value.Entry.MessageId == e.MessageId);
                if (existing.Value.Entry is not null)
                {
                    added.Add(new AddedEntry(existing.Key, f.UidValidity, AlreadyThere: true));
                    continue;
                }
                var uid = f.UidNext++;
                f.Messages[uid] = (e, MessageFlags.Format(MessageFlags.Parse(e.Flags)), ++f.HighestModSeq);
                added.Add(new AddedEntry(uid, f.UidValidity, AlreadyThere: false));
            }
            return Task.FromResult<IReadOnlyList<AddedEntry>>(added);
        }
    }

    public Task<FlagUpdateResult> UpdateFlagsAsync(MailAddress user, string folder, IReadOnlyList<long> uids, FlagEdit edit, long? unchangedSince = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        lock (_lock)
        {
            var f = Find(user, folder) ?? throw new FolderNotFoundException(folder);
            var changed = new List<FlagChange>();
            var modified = new List<long>();
            long before = f.HighestModSeq, modSeq = before + 1;
            foreach (var uid in uids)
            {
                if (!f.Messages.TryGetValue(uid, out var m))
                    continue;
                if (unchangedSince is { } since && m.ModSeq > since)
                {
                    modified.Add(uid);
                    continue;
                }
                var after = edit.Apply(m.Flags);
                if (after == m.Flags)
                    continue;
                f.Messages[uid] = (m.Entry, after, modSeq);
                changed.Add(new FlagChange(uid, after, modSeq));
            }
            var steps = new List<(long, long)>();
            if (changed.Count > 0)
            {
                f.HighestModSeq = modSeq;
                steps.Add((before, modSeq));
            }
            return Task.FromResult(new FlagUpdateResult(changed, modified, steps));
        }
    }

    public Task<IReadOnlyList<long>> ExpungeAsync(MailAddress user, string folder, IReadOnlyList<MailboxMessage> messages, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        lock (_lock)
        {
            var f = Find(user, folder) ?? throw new FolderNotFoundException(folder);
            var removed = messages.Where(m => f.Messages.Remove(m.Uid)).Select(m => m.Uid).ToList();
            if (removed.Count > 0)
                f.HighestModSeq++;
            return Task.FromResult<IReadOnlyList<long>>(removed);
        }
    }

    public Task<IAsyncDisposable?> TryLockAsync(MailAddress user, string name, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_locks.Add((Key(user), name)))
                return Task.FromResult<IAsyncDisposable?>(null);
        }
        return Task.FromResult<IAsyncDisposable?>(new Release(this, (Key(user), name)));
    }

    private sealed class Release(InMemoryMailStore store, (string, string) key) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            lock (store._lock)
                store._locks.Remove(key);
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>Users and passwords in memory: the part of the directory the access protocols use (login, quota).</summary>
internal sealed class InMemoryDirectory : IMailDirectory
{
    private readonly Dictionary<string, UserInfo> _users = new(StringComparer.OrdinalIgnoreCase);

    public MailAddress AddUser(string address, string password, long? quota = null)
    {
        var a = MailAddress.Parse(address);
        _users[a.Address] = new UserInfo(a, quota, DateTimeOffset.UtcNow, ScramCredential.Create(password, iterations: 4096));
        return a;
    }

    public Task<UserInfo?> GetUserAsync(MailAddress address, CancellationToken cancellationToken = default) => Task.FromResult(_users.GetValueOrDefault(address.Address));

    public Task<IReadOnlyList<UserInfo>> ListUsersAsync(string? domain = null, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<UserInfo>>(_users.Values.Where(u => domain is null || u.Address.Domain == domain).ToList());

    public Task<RecipientResolution> ResolveRecipientAsync(MailAddress address, CancellationToken cancellationToken = default) =>
        Task.FromResult(_users.TryGetValue(address.Address, out var u) ? new RecipientResolution(RecipientKind.User, u) : new RecipientResolution(RecipientKind.Unknown));

    // Administration is not what session tests exercise; the Table-backed directory has its own tests on Azurite.
    private static NotSupportedException Unsupported([CallerMemberName] string? name = null) => new NotSupportedException($"{name} is not part of the session tests' directory");
    public Task<DomainInfo> AddDomainAsync(string domain, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task RemoveDomainAsync(string domain, bool force = false, CancellationToken cancellationToken = default) => throw Unsupported();
    /// <summary>A domain is hosted when one of its users exists (what the content checks ask).</summary>
    public Task<DomainInfo?> GetDomainAsync(string domain, CancellationToken cancellationToken = default) =>
        Task.FromResult(_users.Values.Any(u => u.Address.Domain.Equals(domain, StringComparison.OrdinalIgnoreCase)) ? new DomainInfo(domain.ToLowerInvariant(), DateTimeOffset.UnixEpoch) : null);
    public Task<IReadOnlyList<DomainInfo>> ListDomainsAsync(CancellationToken cancellationToken = default) => throw Unsupported();
    public Task<UserInfo> AddUserAsync(MailAddress address, string password, long? quotaBytes = null, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task RemoveUserAsync(MailAddress address, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task SetPasswordAsync(MailAddress address, string password, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task SetQuotaAsync(MailAddress address, long? quotaBytes, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task SetDisabledAsync(MailAddress address, bool disabled, CancellationToken cancellationToken = default)
    {
        _users[address.Address] = _users[address.Address] with { Disabled = disabled };
        return Task.CompletedTask;
    }

    public Task SetAdminRoleAsync(MailAddress address, AdminRole role, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task<AliasInfo> AddAliasAsync(MailAddress alias, IReadOnlyList<MailAddress> targets, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task RemoveAliasAsync(MailAddress alias, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task<IReadOnlyList<AliasInfo>> ListAliasesAsync(string? domain = null, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task<DkimKeyInfo> EnsureDkimKeyAsync(string domain, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task<DkimKeyInfo?> GetDkimKeyAsync(string domain, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task SetCatchAllAsync(string domain, MailAddress? target, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task SetSpamPolicyAsync(string domain, SpamPolicy? policy, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task<ListInfo> AddListAsync(MailAddress list, IReadOnlyList<MailAddress> members, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task RemoveListAsync(MailAddress list, CancellationToken cancellationToken = default) => throw Unsupported();
    public Task<IReadOnlyList<ListInfo>> ListListsAsync(string? domain = null, CancellationToken cancellationToken = default) => throw Unsupported();
}
