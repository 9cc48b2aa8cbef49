using System.IO.Pipelines;
using System.Text.RegularExpressions;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Mime;

namespace MailCloud.Imap;

/// <summary>Mailbox commands: SELECT/EXAMINE, CREATE, DELETE, RENAME, LIST/LSUB, STATUS, APPEND, QUOTA.</summary>
public sealed partial class ImapSession
{
    private async Task<Completion> SelectAsync(ImapCommand c, PipeWriter output, CancellationToken ct)
    {
        var a = c.Args;
        if (a.Count is < 1 or > 2 || a[0].IsList || a.Count == 2 && !a[1].IsList)
            return $"BAD Syntax: {c.Name} mailbox [(CONDSTORE)]";
        if (a.Count == 2 && a[1].Items.Any(t => t.IsAtom("CONDSTORE")))
            _condStore = true;
        var name = Normalize(a[0].Text);
        // Watched before the previous folder is let go: selecting the same folder again keeps the watcher's entry (the
        // blob names and claims its sessions share) instead of building it anew.
        var watch = watcher.Watch(User!, name);
        FolderSnapshot snapshot;
        try
        {
            if (_selected is not null)
            {
                Unselect();
                Write(output, "* OK [CLOSED] Previous mailbox closed");
            }
            snapshot = await store.OpenAsync(User!, name, ct);
        }
        catch
        {
            watch.Dispose();
            throw;
        }
        if (snapshot.Folder is not { } folder)
        {
            watch.Dispose();
            return "NO [NONEXISTENT] No such mailbox";
        }
        bool readOnly = c.Name == "EXAMINE";
        _selected = new SelectedFolder(name, readOnly, folder.UidValidity, folder.HighestModSeq, folder.UidNext, [.. snapshot.Messages.Select(ViewMessage.From)], watch);
        State = ImapState.Selected;
        _selected.Watch.RememberBlobs(snapshot.Messages);
        _selected.Keywords.UnionWith(snapshot.Messages.SelectMany(m => MessageFlags.Parse(m.Flags)).Where(f => !f.StartsWith('\\')));
        AnnounceFlags(output, _selected);
        Write(output, $"* {snapshot.Messages.Count} EXISTS");
        if (!_rev2)
        {
            // IMAP4rev1 only: RFC 9051 dropped \Recent and the UNSEEN response code. SELECT claims the new messages as
            // recent for this session; EXAMINE shows them without taking them from the next session (RFC 3501 6.3.2).
            var claimed = await _selected.Watch.ClaimRecentAsync(store, folder.UidValidity, _selected.LargestUid, readOnly, ct);
            _selected.Recent.UnionWith(_selected.Messages.Where(m => m.Uid > claimed).Select(m => m.Uid));
            Write(output, $"* {_selected.Recent.Count} RECENT");
            var firstUnseen = _selected.Messages.FindIndex(m => !MessageFlags.Has(m.Flags, MessageFlags.Seen));
            if (firstUnseen >= 0)
                Write(output, $"* OK [UNSEEN {firstUnseen + 1}] First unseen message");
        }
        Write(output, $"* OK [UIDVALIDITY {folder.UidValidity}] UIDs valid");
        Write(output, $"* OK [UIDNEXT {folder.UidNext}] Predicted next UID");
        Write(output, $"* OK [HIGHESTMODSEQ {Math.Max(1, folder.HighestModSeq)}] Highest");
        return readOnly ? $"OK [READ-ONLY] {c.Name} completed" : $"OK [READ-WRITE] {c.Name} completed";
    }

    private async Task<Completion> CreateAsync(IReadOnlyList<ImapToken> a, CancellationToken ct)
    {
        if (a.Count != 1 || a[0].IsList)
            return "BAD Syntax: CREATE mailbox";
        var name = Normalize(a[0].Text);
        if (!IsValidName(name))
            return "NO [CANNOT] Invalid mailbox name";
        if (name == "INBOX")
            return "NO [ALREADYEXISTS] INBOX always exists";
        return await store.CreateFolderAsync(User!, name, ct) ? "OK CREATE completed" : "NO [ALREADYEXISTS] Mailbox exists";
    }

    private static bool IsValidName(string name) =>
        name.Length is > 0 and <= 512 && !name.Any(char.IsControl) && !name.Contains("//", StringComparison.Ordinal)
        && !name.StartsWith(MailboxStore.Separator) && !name.Contains('*') && !name.Contains('%');

    private async Task<Completion> DeleteAsync(IReadOnlyList<ImapToken> a, CancellationToken ct)
    {
        if (a.Count != 1 || a[0].IsList)
            return "BAD Syntax: DELETE mailbox";
        var name = Normalize(a[0].Text);
        if (name == "INBOX")
            return "NO [CANNOT] INBOX cannot be deleted";
        var folders = await store.ListFoldersAsync(User!, ct);
        if (!folders.Any(f => f.Name == name))
            return "NO [NONEXISTENT] No such mailbox";
        if (folders.Any(f => f.Name.StartsWith(name + MailboxStore.Separator, StringComparison.Ordinal)))
            return "NO [INUSE] Mailbox has subfolders; delete them first";
        if (_selected?.Name == name)
            Unselect();
        await store.DeleteFolderAsync(User!, name, ct);
        watcher.Notify(User!, name);
        return "OK DELETE completed";
    }

    private async Task<Completion> RenameAsync(IReadOnlyList<ImapToken> a, CancellationToken ct)
    {
        if (a.Count != 2 || a[0].IsList || a[1].IsList)
            return "BAD Syntax: RENAME from to";
        var from = Normalize(a[0].Text);
        var to = Normalize(a[1].Text);
        if (!IsValidName(to) || to == "INBOX")
            return "NO [CANNOT] Invalid target name";
        if (to.StartsWith(from + MailboxStore.Separator, StringComparison.Ordinal))
            return "NO [CANNOT] Cannot move a mailbox into itself";
        var folders = await store.ListFoldersAsync(User!, ct);
        if (!folders.Any(f => f.Name == from))
            return "NO [NONEXISTENT] No such mailbox";
        if (folders.Any(f => f.Name == to))
            return "NO [ALREADYEXISTS] Target mailbox exists";
        if (_selected?.Name == from)
            Unselect();
        await store.RenameFolderAsync(User!, from, to, ct);
        watcher.Notify(User!, from);
        return "OK RENAME completed";
    }

    private static readonly HashSet<string> SelectionOptions = new(["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"], StringComparer.OrdinalIgnoreCase);
    private static readonly HashSet<string> ReturnOptions = new(["SUBSCRIBED", "CHILDREN", "STATUS", "SPECIAL-USE"], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// LIST (RFC 3501, LIST-EXTENDED RFC 5258, SPECIAL-USE RFC 6154, LIST-STATUS RFC 5819) and LSUB. Subscriptions are
    /// names of their own: a subscribed name without a folder is listed \NonExistent, and a parent that matches while
    /// only an unmatched child meets the selection gets CHILDINFO (RECURSIVEMATCH) or, in LSUB, \Noselect.
    /// </summary>
    private async Task<Completion> ListAsync(ImapCommand c, PipeWriter output, CancellationToken ct)
    {
        var a = c.Args.ToList();
        bool lsub = c.Name == "LSUB";
        var selection = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (!lsub && a.Count > 0 && a[0].IsList)
        {
            selection.UnionWith(a[0].Items.Select(t => t.Text));
            a.RemoveAt(0);
            if (!selection.All(SelectionOptions.Contains))
                return "BAD Unknown LIST selection option";
            // RECURSIVEMATCH needs an option it can apply to (REMOTE alone does not select anything).
            if (selection.Contains("RECURSIVEMATCH") && !selection.Contains("SUBSCRIBED") && !selection.Contains("SPECIAL-USE"))
                return "BAD RECURSIVEMATCH needs another selection option";
        }
        var returns = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        IReadOnlyList<ImapToken>? statusItems = null;
        int ret = a.FindIndex(t => t.IsAtom("RETURN"));
        if (!lsub && ret >= 0)
        {
            if (ret + 1 >= a.Count || !a[ret + 1].IsList)
                return "BAD Syntax: RETURN (options)";
            var opts = a[ret + 1].Items;
            for (int i = 0; i < opts.Count; i++)
            {
                if (!ReturnOptions.Contains(opts[i].Text))
                    return "BAD Unknown LIST return option";
                returns.Add(opts[i].Text);
                if (opts[i].IsAtom("STATUS") && i + 1 < opts.Count && opts[i + 1].IsList)
                    statusItems = opts[++i].Items;
            }
            a.RemoveRange(ret, 2);
        }
        if (a.Count != 2 || a[0].IsList)
            return $"BAD Syntax: {c.Name} reference pattern";
        var reference = a[0].Text;
        var patterns = a[1].IsList ? a[1].Items.Select(t => t.Text).ToList() : [a[1].Text];
        if (!lsub && patterns.Count == 1 && patterns[0].Length == 0)
        {
            // RFC 3501: an empty pattern asks for the hierarchy delimiter.
            Write(output, $"* LIST (\\Noselect) \"{MailboxStore.Separator}\" \"\"");
            return "OK LIST completed";
        }
        var folders = (await store.ListFoldersAsync(User!, ct)).ToDictionary(f => f.Name, StringComparer.Ordinal);
        var regexes = patterns.Select(p => PatternRegex(Decode(reference + p))).ToList();
        bool Matches(string name) => regexes.Any(r => r.IsMatch(name));
        bool subscribedOnly = lsub || selection.Contains("SUBSCRIBED");
        bool specialOnly = selection.Contains("SPECIAL-USE");
        bool recursive = selection.Contains("RECURSIVEMATCH");
        bool showSubscribed = subscribedOnly || returns.Contains("SUBSCRIBED");
        IReadOnlySet<string> subscribed = showSubscribed ? await store.ListSubscriptionsAsync(User!, folders.Values, ct) : new HashSet<string>();

        bool Selected(string name) =>
            (!subscribedOnly || subscribed.Contains(name)) && (!specialOnly || folders.TryGetValue(name, out var f) && f.SpecialUse is not null)
            && (subscribedOnly || folders.ContainsKey(name));
        var names = new SortedSet<string>(folders.Keys, StringComparer.Ordinal);
        if (subscribedOnly)
            names.UnionWith(subscribed);
        // Every ancestor of a name is a candidate too (for CHILDINFO and LSUB's \Noselect parents).
        foreach (var n in names.ToList())
        {
            for (int cut = n.LastIndexOf(MailboxStore.Separator); cut > 0; cut = n.LastIndexOf(MailboxStore.Separator, cut - 1))
                names.Add(n[..cut]);
        }
        bool HasChildren(string name) => folders.Keys.Any(x => x.StartsWith(name + MailboxStore.Separator, StringComparison.Ordinal));
        bool HasUnmatchedSelectedChild(string name) =>
            names.Any(x => x.StartsWith(name + MailboxStore.Separator, StringComparison.Ordinal) && Selected(x) && !Matches(x));

        foreach (var name in names.OrderBy(n => n == "INBOX" ? 0 : 1).ThenBy(n => n, StringComparer.Ordinal))
        {
            if (!Matches(name))
                continue;
            folders.TryGetValue(name, out var f);
            var attrs = new List<string>();
            string? extended = null;
            if (Selected(name))
            {
                if (lsub)
                {
                    if (f is null)
                        attrs.Add("\\Noselect");
                }
                else
                {
                    if (f is null)
                        attrs.Add("\\NonExistent");
                    else
                        attrs.Add(HasChildren(name) ? "\\HasChildren" : "\\HasNoChildren");
                    if (showSubscribed && subscribed.Contains(name))
                        attrs.Add("\\Subscribed");
                    if (f?.SpecialUse is not null)
                        attrs.Add(f.SpecialUse);
                }
            }
            else if (lsub && HasUnmatchedSelectedChild(name))
            {
                attrs.Add("\\Noselect"); // RFC 3501 6.3.9: not subscribed itself, but has subscribed children under it
            }
            else if (!lsub && recursive && HasUnmatchedSelectedChild(name))
            {
                if (f is null)
                    attrs.Add("\\NonExistent");
                else if (returns.Contains("CHILDREN"))
                    attrs.Add("\\HasChildren");
                extended = $" (\"CHILDINFO\" (\"{(subscribedOnly ? "SUBSCRIBED" : "SPECIAL-USE")}\"))";
            }
            else
            {
                continue;
            }
            Write(output, $"* {c.Name} ({string.Join(' ', attrs)}) \"{MailboxStore.Separator}\" {MailboxName(name)}{extended}");
            if (statusItems is not null && f is not null)
            {
                var items = statusItems.Select(t => t.Text.ToUpperInvariant()).ToList();
                WriteStatus(output, f, items, items.Contains("RECENT") ? await RecentCountAsync(f, ct) : 0);
            }
        }
        return $"OK {c.Name} completed";
    }

    /// <summary>LIST wildcards: '*' matches anything, '%' anything but the hierarchy separator.</summary>
    private static Regex PatternRegex(string pattern)
    {
        var rx = "^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("%", "[^/]*", StringComparison.Ordinal) + "$";
        // INBOX matches case-insensitively.
        if (pattern.StartsWith("inbox", StringComparison.OrdinalIgnoreCase))
            rx = "^(?i:INBOX)" + rx[("^" + Regex.Escape(pattern[..5])).Length..];
        return new Regex(rx, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    private static readonly HashSet<string> StatusItems = ["MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE"];

    private async Task<Completion> StatusAsync(IReadOnlyList<ImapToken> a, PipeWriter output, CancellationToken ct)
    {
        if (a.Count != 2 || a[0].IsList || !a[1].IsList || a[1].Items.Count == 0)
            return "BAD Syntax: STATUS mailbox (items)";
        var items = a[1].Items.Select(t => t.Text.ToUpperInvariant()).ToList();
        if (items.FirstOrDefault(i => !StatusItems.Contains(i)) is { } unknown)
            return $"BAD Unknown status item {unknown}";
        var folder = await store.GetFolderAsync(User!, Normalize(a[0].Text), ct);
        if (folder is null)
            return "NO [NONEXISTENT] No such mailbox";
        long recent = items.Contains("RECENT") ? await RecentCountAsync(folder, ct) : 0;
        WriteStatus(output, folder, items, recent);
        return "OK STATUS completed";
    }

    /// <summary>STATUS from the folder's state row alone: counters are kept exact by every change (one read).</summary>
    /// <summary>Messages no session has been told of as \Recent yet (from the folder row and the claim row).</summary>
    private async Task<long> RecentCountAsync(FolderInfo f, CancellationToken ct) =>
        Math.Clamp(f.UidNext - 1 - await store.GetRecentClaimAsync(User!, f.Name, f.UidValidity, ct), 0, f.Exists);

    private void WriteStatus(PipeWriter output, FolderInfo f, IReadOnlyList<string> items, long recent = 0)
    {
        var parts = items.Where(StatusItems.Contains).Select(i => i + " " + (i switch
        {
            "MESSAGES" => f.Exists,
            "RECENT" => recent,
            "UIDNEXT" => f.UidNext,
            "UIDVALIDITY" => f.UidValidity,
            "UNSEEN" => f.Unseen,
            "SIZE" => f.Bytes,
            _ => Math.Max(1, f.HighestModSeq),
        }));
        Write(output, $"* STATUS {MailboxName(f.Name)} ({string.Join(' ', parts)})");
    }

    private async Task<Completion> AppendAsync(IReadOnlyList<ImapToken> a, PipeWriter output, CancellationToken ct)
    {
        // APPEND mailbox [(flags)] [date-time] literal
        if (a.Count is < 2 or > 4 || a[0].IsList || a[^1].Kind != ImapTokenKind.Literal)
            return "BAD Syntax: APPEND mailbox [(flags)] [date-time] {size}";
        var name = Normalize(a[0].Text);
        string flags = string.Empty;
        var internalDate = DateTimeOffset.UtcNow;
        for (int i = 1; i < a.Count - 1; i++)
        {
            if (a[i].IsList)
            {
                if (!TryFlags(a[i].Items, out var set, out var error))
                    return "BAD " + error;
                flags = MessageFlags.Format(set);
            }
            else if (!ImapFormat.TryParseDateTime(a[i].Text, out internalDate))
                return "BAD Invalid date-time";
        }
        var bytes = a[^1].Bytes;
        if (bytes.Length == 0)
            return "NO Cannot append an empty message";
        var now = DateTimeOffset.UtcNow;
        var id = MessageIds.New(now);
        var blob = MessageIds.BlobPath(id, now);
        // The blob is written and the quota read while the message is parsed and the store reads the folder row and
        // writes the blob's reference; the store commits the entry only once the blob is there and the quota has room.
        var written = WrittenWithinQuotaAsync(messages.WriteAsync(blob, bytes, ct), OverQuotaAsync(bytes.Length, ct));
        AddedEntry added;
        try
        {
            var summary = MessageSummary.Of(MimeParser.Parse(bytes, new MimeParserOptions { KeepRootHeaderUpTo = MessageSummary.MaxStoredHeader }));
            var entry = MailboxWriter.Entry(id, blob, bytes.Length, internalDate.ToUniversalTime(), flags, summary);
            added = (await store.AddAsync(User!, name, [entry], createFolder: false, written, ct))[0];
        }
        catch (OverQuotaException)
        {
            // Nothing was added; the uploaded blob has no reference and housekeeping removes it.
            return "NO [OVERQUOTA] Mailbox is full";
        }
        catch (FolderNotFoundException)
        {
            // Checked by the write itself rather than by a read before every APPEND; the uploaded blob has no
            // reference and housekeeping removes it.
            return "NO [TRYCREATE] No such mailbox";
        }
        watcher.Notify(User!, name);
        if (!added.AlreadyThere && MailboxWriter.SpecialUse(name) == @"\Junk")
            ReportJudgement([blob], spam: true);
        return $"OK [APPENDUID {added.UidValidity} {added.Uid}] APPEND completed";
    }

    private sealed class OverQuotaException() : Exception("the mailbox is full");

    /// <summary>Completes when the upload has and the quota has room; fails with <see cref="OverQuotaException"/> when it has not.</summary>
    private static async Task WrittenWithinQuotaAsync(Task written, Task<bool> overQuota)
    {
        try
        {
            await written;
        }
        finally
        {
            // Observed either way, so a failed usage read behind a failed upload is not left unobserved.
            await overQuota.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        if (await overQuota)
            throw new OverQuotaException();
    }

    private async Task<bool> OverQuotaAsync(long adding, CancellationToken ct)
    {
        if (_quota is not { } quota)
            return false;
        var (used, _) = await store.GetUsageAsync(User!, ct);
        return used + adding > quota;
    }

    /// <summary>Flags a client may set: the system flags (not \Recent) and keywords.</summary>
    private static bool TryFlags(IEnumerable<ImapToken> tokens, out SortedSet<string> flags, out string error)
    {
        flags = new SortedSet<string>(StringComparer.Ordinal);
        error = string.Empty;
        foreach (var t in tokens)
        {
            var f = MessageFlags.Canonical(t.Text);
            if (t.Kind == ImapTokenKind.Atom && f.Equals("\\Recent", StringComparison.OrdinalIgnoreCase))
                continue; // the server's to set, never the client's (RFC 3501 2.3.2): ignored
            if (t.Kind != ImapTokenKind.Atom || f.StartsWith('\\') && !MessageFlags.System.Contains(f) || f.Length == 0 || f.Any(ch => ch is '(' or ')' or '{' or '"' or ']' or '%' or '*' || ch <= ' '))
            {
                error = $"Invalid flag {t.Text}";
                return false;
            }
            flags.Add(f);
        }
        return true;
    }

    private async Task<Completion> QuotaAsync(ImapCommand c, PipeWriter output, CancellationToken ct)
    {
        if (c.Args.Count != 1 || c.Args[0].IsList)
            return $"BAD Syntax: {c.Name} name";
        if (c.Name == "GETQUOTAROOT")
        {
            if (await store.GetFolderAsync(User!, Normalize(c.Args[0].Text), ct) is null)
                return "NO [NONEXISTENT] No such mailbox";
            Write(output, $"* QUOTAROOT {MailboxName(Normalize(c.Args[0].Text))} \"\"");
        }
        else if (c.Args[0].Text.Length != 0)
            return "NO [NONEXISTENT] No such quota root";
        var (used, _) = await store.GetUsageAsync(User!, ct);
        // RFC 9208: STORAGE in units of 1024 octets.
        var resources = _quota is { } q ? $"STORAGE {(used + 1023) / 1024} {q / 1024}" : null;
        Write(output, resources is null ? "* QUOTA \"\" ()" : $"* QUOTA \"\" ({resources})");
        return $"OK {c.Name} completed";
    }
}
