using MailCloud.Core;
using MailCloud.Data;

namespace MailCloud.Webmail;

public sealed record FolderEntry(string Name, string? SpecialUse, int Exists, int Unseen, long HighestModSeq)
{
    /// <summary>The name a person reads (the special-use folders keep their English names, as IMAP shows them).</summary>
    public string Label => Name == "INBOX" ? "Inbox" : Name;
}

public enum ListSort { Date, From, Subject, Size }

/// <summary>What the search form asks for; text matches are case-insensitive substrings.</summary>
/// <param name="Any">The quick search box: a match in From, To or Subject.</param>
public sealed record SearchCriteria(string? From = null, string? To = null, string? Subject = null, string? Body = null, DateOnly? Since = null, DateOnly? Before = null, string? Any = null)
{
    public bool IsEmpty => string.IsNullOrWhiteSpace(Any) && string.IsNullOrWhiteSpace(From) && string.IsNullOrWhiteSpace(To) && string.IsNullOrWhiteSpace(Subject) && string.IsNullOrWhiteSpace(Body) && Since is null && Before is null;
}

public sealed record ListQuery(string Folder, int Page = 0, ListSort Sort = ListSort.Date, bool Descending = true, SearchCriteria? Search = null, bool Threads = false);

/// <summary>One line of the message list (with <paramref name="ThreadCount"/> &gt; 1 it stands for a conversation).</summary>
public sealed record MessageRow(long Uid, string From, string To, string Subject, DateTimeOffset Date, long Size, string Flags, bool HasAttachment, int ThreadCount = 1)
{
    public bool Seen => MessageFlags.Has(Flags, @"\Seen");
    public bool Flagged => MessageFlags.Has(Flags, @"\Flagged");
    public bool Answered => MessageFlags.Has(Flags, @"\Answered");
}

public sealed record MessagePage(FolderEntry Folder, IReadOnlyList<MessageRow> Rows, int Total, int Page, int Pages, bool BodySearchBounded = false);

/// <summary>
/// Folder and message lists as the webmail shows them, read from the mailbox index alone. The common case — newest
/// first, no search — costs the folder's state row and one range read of the page's rows (no scan, whatever the
/// folder's size). Other orders, searches and conversations work on the folder's message list and summaries, which
/// the per-host cache keeps current through MODSEQ, so after the first they cost a state-row read.
/// </summary>
public sealed class MailboxView(WebmailServices services)
{
    private IMailboxStore Store => services.Store;
    private int PageSize => services.Options.PageSize;

    /// <summary>Special-use folders first (Inbox, Drafts, Sent, Junk, Trash), then the rest by name.</summary>
    public async Task<IReadOnlyList<FolderEntry>> FoldersAsync(MailAddress user, CancellationToken ct)
    {
        var folders = await Store.ListFoldersAsync(user, ct).ConfigureAwait(false);
        if (folders.Count == 0)
        {
            await Store.EnsureDefaultFoldersAsync(user, ct).ConfigureAwait(false);
            folders = await Store.ListFoldersAsync(user, ct).ConfigureAwait(false);
        }
        string[] order = ["INBOX", @"\Drafts", @"\Sent", @"\Junk", @"\Trash"];
        int Rank(FolderInfo f) => f.Name == "INBOX" ? 0 : f.SpecialUse is { } use && Array.IndexOf(order, use) is > 0 and var i ? i : order.Length;
        return folders.OrderBy(Rank).ThenBy(f => f.Name, StringComparer.OrdinalIgnoreCase)
            .Select(f => new FolderEntry(f.Name, f.SpecialUse, f.Exists, f.Unseen, f.HighestModSeq)).ToList();
    }

    public async Task<MessagePage> PageAsync(MailAddress user, ListQuery query, CancellationToken ct)
    {
        var info = await Store.GetFolderAsync(user, query.Folder, ct).ConfigureAwait(false);
        if (info is null && MailboxWriter.DefaultFolders.Any(f => f.Name == query.Folder))
        {
            // A user who never received mail has no folders yet (IMAP's first login creates them the same way).
            await Store.EnsureDefaultFoldersAsync(user, ct).ConfigureAwait(false);
            info = await Store.GetFolderAsync(user, query.Folder, ct).ConfigureAwait(false);
        }
        if (info is null)
            throw new FolderNotFoundException(query.Folder);
        var folder = new FolderEntry(info.Name, info.SpecialUse, info.Exists, info.Unseen, info.HighestModSeq);
        var page = Math.Max(0, query.Page);
        if (query is { Sort: ListSort.Date, Descending: true, Threads: false } && (query.Search is null || query.Search.IsEmpty) && page == 0)
            return await NewestAsync(user, info, folder, ct).ConfigureAwait(false);

        var rows = await AllRowsAsync(user, query.Folder, ct).ConfigureAwait(false);
        bool bounded = false;
        if (query.Search is { IsEmpty: false } search)
            (rows, bounded) = await FilterAsync(user, query.Folder, rows, search, ct).ConfigureAwait(false);
        IEnumerable<MessageRow> ordered = (query.Sort switch
        {
            ListSort.From => rows.OrderBy(r => r.Row.From, StringComparer.CurrentCultureIgnoreCase).ThenBy(r => r.Row.Uid),
            ListSort.Subject => rows.OrderBy(r => Threads.BaseSubject(r.Row.Subject), StringComparer.CurrentCultureIgnoreCase).ThenBy(r => r.Row.Uid),
            ListSort.Size => rows.OrderBy(r => r.Row.Size).ThenBy(r => r.Row.Uid),
            _ => rows.OrderBy(r => r.Row.Uid),
        }).Select(r => r.Row);
        if (query.Descending)
            ordered = ordered.Reverse();
        if (query.Threads)
        {
            // One line per conversation, in the order of its first line in the chosen order (its newest message when newest first).
            var keys = rows.ToDictionary(r => r.Row.Uid, r => r.ThreadKey);
            ordered = ordered.GroupBy(r => keys[r.Uid]).Select(g => g.First() with { ThreadCount = g.Count(), Flags = g.Any(m => !m.Seen) ? Unseen(g.First().Flags) : g.First().Flags });
        }
        var list = ordered.ToList();
        var pages = Math.Max(1, (list.Count + PageSize - 1) / PageSize);
        return new MessagePage(folder, list.Skip(page * PageSize).Take(PageSize).ToList(), list.Count, Math.Min(page, pages - 1), pages, bounded);
    }

    private static string Unseen(string flags) => string.Join(' ', flags.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(f => f != @"\Seen"));

    /// <summary>The newest page straight from the index: UID windows read downwards from UIDNEXT until the page is full.</summary>
    private async Task<MessagePage> NewestAsync(MailAddress user, FolderInfo info, FolderEntry folder, CancellationToken ct)
    {
        var rows = new List<MessageRow>();
        long high = info.UidNext - 1, span = PageSize + 8;
        while (rows.Count < PageSize && high >= 1 && rows.Count < info.Exists)
        {
            var low = Math.Max(1, high - span + 1);
            var window = new List<MessageRow>();
            await foreach (var d in Store.QueryMessagesAsync(user, info.Name, low, high, MessageDetail.Listing, ct).ConfigureAwait(false))
                window.Add(ToRow(d, d.Flags, d.Size, d.InternalDate).Row);
            rows.AddRange(window.OrderByDescending(r => r.Uid).Take(PageSize - rows.Count));
            high = low - 1;
            span *= 4; // expunged gaps: widen quickly rather than read window after window
        }
        var pages = Math.Max(1, (info.Exists + PageSize - 1) / PageSize);
        return new MessagePage(folder, rows, info.Exists, 0, pages);
    }

    /// <summary>A listed message with what searching and threading need beside the visible line.</summary>
    internal sealed record Listed(MessageRow Row, string ThreadKey, string Blob, byte[]? Prefix, string To, string FromHeader);

    /// <summary>
    /// What a stored summary yields for the list (decoded names, the header block's thread ids), kept per summary
    /// object: the per-host cache hands out the same objects until a message changes, so a 10,000-message folder is
    /// parsed once, not on every sort or search.
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<MessageDetails, Derived> Parsed = new();

    private sealed record Derived(string From, string To, HeaderBlock Headers, string ThreadKey);

    /// <summary>Every message of the folder: the cached list (flags, sizes) joined with the cached search summaries.</summary>
    internal async Task<List<Listed>> AllRowsAsync(MailAddress user, string folderName, CancellationToken ct)
    {
        var snapshot = await Store.OpenAsync(user, folderName, ct).ConfigureAwait(false);
        if (snapshot.Messages.Count == 0)
            return [];
        var summaries = new Dictionary<long, MessageDetails>();
        await foreach (var d in Store.QueryMessagesAsync(user, folderName, snapshot.Messages[0].Uid, snapshot.Messages[^1].Uid, MessageDetail.Search, ct).ConfigureAwait(false))
            summaries[d.Uid] = d;
        var result = new List<Listed>(snapshot.Messages.Count);
        foreach (var m in snapshot.Messages)
        {
            var d = summaries.GetValueOrDefault(m.Uid) ?? new MessageDetails(m.Uid, m.Blob);
            result.Add(ToRow(d, m.Flags, m.Size, m.InternalDate));
        }
        return result;
    }

    private static Listed ToRow(MessageDetails d, string flags, long size, DateTimeOffset internalDate)
    {
        var derived = Parsed.GetValue(d, static d =>
        {
            var headers = HeaderBlock.Parse(d.Header);
            return new Derived(Addresses.Display(d.From), Addresses.Display(d.To), headers, Threads.Key(headers, d.Subject));
        });
        var row = new MessageRow(d.Uid, derived.From, derived.To, string.IsNullOrWhiteSpace(d.Subject) ? "(no subject)" : d.Subject!,
            internalDate, size, flags, derived.Headers.HasAttachments);
        return new Listed(row, derived.ThreadKey, d.Blob, d.Prefix, d.To ?? string.Empty, d.From ?? string.Empty);
    }

    private async Task<(List<Listed>, bool Bounded)> FilterAsync(MailAddress user, string folderName, List<Listed> rows, SearchCriteria s, CancellationToken ct)
    {
        static bool Has(string? text, string? needle) => string.IsNullOrWhiteSpace(needle) || text?.Contains(needle.Trim(), StringComparison.CurrentCultureIgnoreCase) == true;
        var since = s.Since?.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var before = s.Before?.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        // Addresses match in the raw header (address and name as sent) and in the decoded name.
        static bool HasFrom(Listed r, string? needle) => Has(r.FromHeader, needle) || Has(r.Row.From, needle);
        var matches = rows.Where(r => (string.IsNullOrWhiteSpace(s.Any) || HasFrom(r, s.Any) || Has(r.To, s.Any) || Has(r.Row.Subject, s.Any)) && (string.IsNullOrWhiteSpace(s.From) || HasFrom(r, s.From)) && Has(r.To, s.To) && Has(r.Row.Subject, s.Subject)
            && (since is null || r.Row.Date.UtcDateTime >= since) && (before is null || r.Row.Date.UtcDateTime < before)).ToList();
        if (string.IsNullOrWhiteSpace(s.Body))
            return (matches, false);
        // Body text is not in the index: read the newest candidates' bytes, a bounded number of them.
        var candidates = matches.OrderByDescending(r => r.Row.Uid).Take(services.Options.MaxBodySearch).ToList();
        var hits = new System.Collections.Concurrent.ConcurrentBag<Listed>();
        await Parallel.ForEachAsync(candidates, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (r, token) =>
        {
            var bytes = await services.Content.ReadAllAsync(r.Blob, r.Prefix, token).ConfigureAwait(false);
            if (Has(MessageText.Of(bytes), s.Body))
                hits.Add(r);
        }).ConfigureAwait(false);
        return (hits.ToList(), matches.Count > candidates.Count);
    }

    /// <summary>The messages of <paramref name="uid"/>'s conversation in its folder and in Sent (or INBOX when it is in Sent), oldest first.</summary>
    public async Task<IReadOnlyList<(string Folder, MessageRow Row)>> ConversationAsync(MailAddress user, string folderName, long uid, CancellationToken ct)
    {
        var here = await AllRowsAsync(user, folderName, ct).ConfigureAwait(false);
        var me = here.FirstOrDefault(r => r.Row.Uid == uid);
        if (me is null)
            return [];
        var result = here.Where(r => r.ThreadKey == me.ThreadKey).Select(r => (folderName, r.Row)).ToList();
        var other = MailboxWriter.SpecialUse(folderName) == @"\Sent" ? "INBOX" : "Sent";
        if (await Store.GetFolderAsync(user, other, ct).ConfigureAwait(false) is not null)
            result.AddRange((await AllRowsAsync(user, other, ct).ConfigureAwait(false)).Where(r => r.ThreadKey == me.ThreadKey).Select(r => (other, r.Row)));
        return result.OrderBy(r => r.Row.Date).ToList();
    }
}
