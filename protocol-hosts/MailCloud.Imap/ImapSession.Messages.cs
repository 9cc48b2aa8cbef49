using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Azure;
using MailCloud.Data;
using MailCloud.Core;
using MailCloud.Mime;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Imap;

/// <summary>Commands on the selected folder's messages: FETCH, STORE, COPY/MOVE, EXPUNGE; and merging in changes made elsewhere.</summary>
public sealed partial class ImapSession
{
    /// <summary>Messages per table query in FETCH, SEARCH and COPY: one page of the table service.</summary>
    private const int FetchChunk = 1000;


    /// <summary>
    /// Merges changes made by other sessions and deliveries into this session's view and reports them: flag
    /// changes as FETCH, new messages as EXISTS, expunges as EXPUNGE (only when <paramref name="allowExpunge"/>;
    /// until then the message keeps its number). Costs nothing unless the folder was announced or polled as
    /// changed, or <paramref name="force"/> (NOOP, CHECK): then one point read, and a query only when it changed.
    /// </summary>
    private async Task SyncAsync(PipeWriter output, bool allowExpunge, bool force, CancellationToken ct)
    {
        var sel = _selected!;
        var version = sel.Watch.Version;
        if (force || version != sel.SeenVersion)
        {
            sel.SeenVersion = version;
            var (folder, changed, expunged) = await sel.Watch.ReadChangesAsync(sel.HighestModSeq, fresh: force, ct);
            sel.Watch.RememberBlobs(changed);
            var flagChanged = new List<long>();
            var fresh = new HashSet<long>();
            int added = 0;
            if (folder is null || folder.UidValidity != sel.UidValidity)
            {
                // Deleted or renamed elsewhere: everything in the view is gone.
                foreach (var m in sel.Messages)
                    sel.Expunged.Add(m.Uid);
            }
            else if (folder.HighestModSeq != sel.HighestModSeq)
            {
                var largest = sel.LargestUid;
                foreach (var m in changed.Select(ViewMessage.From))
                {
                    var i = sel.IndexOf(m.Uid);
                    if (i >= 0)
                    {
                        if (sel.Messages[i].Flags != m.Flags)
                            flagChanged.Add(m.Uid);
                        sel.Messages[i] = m;
                    }
                    else if (m.Uid > largest)
                    {
                        sel.Messages.Add(m);
                        fresh.Add(m.Uid);
                        largest = m.Uid;
                        added++;
                    }
                }
                // From the change log the view is exactly at the folder's MODSEQ (rows changed again since are left for
                // the next catch-up); the fallback's rows hold every later change, so it may go beyond.
                sel.HighestModSeq = expunged is not null || changed.Count == 0 ? folder.HighestModSeq : Math.Max(folder.HighestModSeq, changed.Max(m => m.ModSeq));
                sel.UidNext = folder.UidNext;
                if (expunged is not null)
                {
                    // The change log names them: no need to list the folder's UIDs.
                    foreach (var m in sel.Messages)
                    {
                        if (expunged.Contains(m.Uid) && !fresh.Contains(m.Uid))
                            sel.Expunged.Add(m.Uid);
                    }
                }
                if (sel.Messages.Count - sel.Expunged.Count != folder.Exists)
                {
                    // The counts disagree: something was expunged (or arrived during the query); list the UIDs to know.
                    var present = await sel.Watch.ListUidsAsync(ct);
                    foreach (var m in sel.Messages)
                    {
                        if (!present.Contains(m.Uid) && !fresh.Contains(m.Uid))
                            sel.Expunged.Add(m.Uid);
                    }
                    // A message that arrived and went again between our reads was never announced: it just disappears,
                    // so no EXPUNGE can name a number the client does not know (RFC 3501 7.4.1).
                    int gone = sel.Messages.RemoveAll(m => fresh.Contains(m.Uid) && !present.Contains(m.Uid));
                    added -= gone;
                }
            }
            if (allowExpunge)
                ReportExpunges(output);
            foreach (var uid in flagChanged)
            {
                var i = sel.IndexOf(uid);
                if (i >= 0 && !sel.Expunged.Contains(uid))
                    Write(output, $"* {i + 1} FETCH (UID {uid} FLAGS {FlagsOf(output, sel.Messages[i])}{ModSeqItem(sel.Messages[i])})");
            }
            if (added > 0)
            {
                Write(output, $"* {sel.Messages.Count} EXISTS");
                if (!_rev2)
                {
                    // The new messages are recent here if this session is the first to hear of them.
                    var newest = sel.Messages.Skip(sel.Messages.Count - added).ToList();
                    var claimed = await sel.Watch.ClaimRecentAsync(store, sel.UidValidity, sel.LargestUid, sel.ReadOnly, ct);
                    sel.Recent.UnionWith(newest.Where(m => m.Uid > claimed).Select(m => m.Uid));
                    Write(output, $"* {sel.Recent.Count(u => sel.IndexOf(u) >= 0 && !sel.Expunged.Contains(u))} RECENT");
                }
            }
        }
        else if (allowExpunge)
            ReportExpunges(output);
    }

    /// <summary>
    /// A message's FLAGS as this session shows them: with \Recent when it is recent here, and after announcing, in
    /// FLAGS and PERMANENTFLAGS, any keyword the client has not been told of yet (RFC 3501 7.2.6: a client must not
    /// see a keyword in FETCH before it).
    /// </summary>
    private string FlagsOf(PipeWriter output, ViewMessage m)
    {
        var flags = MessageFlags.Parse(m.Flags);
        AnnounceNewKeywords(output, flags);
        if (_selected!.Recent.Contains(m.Uid))
            flags.Add("\\Recent");
        return ImapFormat.Flags(MessageFlags.Format(flags));
    }

    private void AnnounceNewKeywords(PipeWriter output, IEnumerable<string> flags)
    {
        var sel = _selected!;
        var unknown = flags.Where(f => !f.StartsWith('\\') && !sel.Keywords.Contains(f)).ToList();
        if (unknown.Count == 0)
            return;
        sel.Keywords.UnionWith(unknown);
        AnnounceFlags(output, sel);
    }

    private static void AnnounceFlags(PipeWriter output, SelectedFolder sel)
    {
        var flags = string.Join(' ', MessageFlags.System.Concat(sel.Keywords.Order(StringComparer.Ordinal)));
        Write(output, $"* FLAGS ({flags})");
        Write(output, sel.ReadOnly ? "* OK [PERMANENTFLAGS ()] Read-only mailbox" : $"* OK [PERMANENTFLAGS ({flags} \\*)] Flags permitted");
    }

    /// <summary>
    /// CONDSTORE switched on by a command that uses it (RFC 7162 3.1): the first time with a folder selected, the
    /// client is told the folder's HIGHESTMODSEQ, as SELECT (CONDSTORE) would have.
    /// </summary>
    private void EnableCondStore(PipeWriter output)
    {
        if (_condStore)
            return;
        _condStore = true;
        if (_selected is { } sel)
            Write(output, $"* OK [HIGHESTMODSEQ {Math.Max(1, sel.HighestModSeq)}] Highest");
    }

    private string ModSeqItem(ViewMessage m) => _condStore ? $" MODSEQ ({m.ModSeq})" : string.Empty;

    private void ReportExpunges(PipeWriter output)
    {
        var sel = _selected!;
        if (sel.Expunged.Count == 0)
            return;
        // Highest number first, so each EXPUNGE's number is still right when the client reads it.
        for (int i = sel.Messages.Count - 1; i >= 0; i--)
        {
            if (sel.Expunged.Contains(sel.Messages[i].Uid))
            {
                Write(output, $"* {i + 1} EXPUNGE");
                sel.Messages.RemoveAt(i);
            }
        }
        sel.Expunged.Clear();
    }

    private bool TrySet(ImapCommand c, ImapToken token, out List<int> indexes, out string error)
    {
        indexes = [];
        error = string.Empty;
        var sel = _selected!;
        if (token.Kind == ImapTokenKind.Atom && token.Text == "$")
        {
            indexes = sel.Messages.Select((m, i) => (m, i)).Where(x => _saved.Contains(x.m.Uid)).Select(x => x.i).ToList();
            return true;
        }
        if (token.Kind != ImapTokenKind.Atom || !SequenceSet.TryParse(token.Text, out var set))
        {
            error = "BAD Invalid sequence set";
            return false;
        }
        if (!c.Uid && (sel.Messages.Count == 0 || set.HasNumberAbove(sel.Messages.Count)))
        {
            error = sel.Messages.Count == 0 ? "BAD No messages" : "BAD Invalid message number";
            return false;
        }
        indexes = sel.Resolve(set, c.Uid);
        return true;
    }

    private async Task<Completion> FetchAsync(ImapCommand c, PipeWriter output, CancellationToken ct)
    {
        var a = c.Args;
        if (a.Count is < 2 or > 3)
            return "BAD Syntax: FETCH set items [(CHANGEDSINCE n)]";
        if (!TrySet(c, a[0], out var indexes, out var error))
            return error;
        if (!FetchParser.TryParse(a[1], out var items, out error))
            return "BAD " + error;
        long? changedSince = null;
        if (a.Count == 3)
        {
            var mods = a[2].Items;
            if (!a[2].IsList || mods.Count != 2 || !mods[0].IsAtom("CHANGEDSINCE") || !long.TryParse(mods[1].Text, NumberStyles.None, CultureInfo.InvariantCulture, out var since))
                return "BAD Unknown FETCH modifier";
            changedSince = since;
            EnableCondStore(output);
        }
        if (c.Uid && !items.Any(i => i.Kind == FetchKind.Uid))
            items.Insert(0, new FetchItem(FetchKind.Uid, "UID"));
        if (changedSince is not null && !items.Any(i => i.Kind == FetchKind.ModSeq))
            items.Add(new FetchItem(FetchKind.ModSeq, "MODSEQ"));
        if (items.Any(i => i.Kind == FetchKind.ModSeq))
            EnableCondStore(output);
        var sel = _selected!;
        if (changedSince is { } cs)
            indexes = indexes.Where(i => sel.Messages[i].ModSeq > cs).ToList();
        bool needsRow = items.Any(i => i.NeedsRow);
        bool setsSeen = !sel.ReadOnly && items.Any(i => i.Kind is FetchKind.Section or FetchKind.Binary && !i.Peek);
        bool missing = false;
        var chunks = indexes.Chunk(FetchChunk).Select(chunk => (Indexes: chunk, Messages: chunk.Select(i => sel.Messages[i]).ToList())).ToList();
        // The next chunk's rows are read while this one is written: storage and the client's reading overlap
        // instead of taking turns (a cold FETCH 1:* of 10,000 summaries is ten range reads).
        Task<Dictionary<long, MessageDetails>>? next = needsRow && chunks.Count > 0 ? LoadRowsAsync(chunks[0].Messages, MessageDetail.Summary, ct) : null;
        try
        {
            for (int k = 0; k < chunks.Count; k++)
            {
                var (chunk, messagesInChunk) = chunks[k];
                var rows = next is null ? null : await next;
                next = needsRow && k + 1 < chunks.Count ? LoadRowsAsync(chunks[k + 1].Messages, MessageDetail.Summary, ct) : null;
                var flagsChanged = new HashSet<long>();
                if (setsSeen)
                {
                    var unseen = messagesInChunk.Where(m => !MessageFlags.Has(m.Flags, MessageFlags.Seen) && (rows is null || rows.ContainsKey(m.Uid))).Select(m => m.Uid).ToList();
                    if (unseen.Count > 0)
                    {
                        var result = await store.UpdateFlagsAsync(User!, sel.Name, unseen, FlagEdit.Add(MessageFlags.Seen), cancellationToken: ct);
                        ApplyFlagChanges(result.Changed);
                        flagsChanged.UnionWith(result.Changed.Select(x => x.Uid));
                        sel.OwnUpdate(result);
                    }
                }
                foreach (var index in chunk)
                {
                    var m = sel.Messages[index];
                    MessageDetails? row = null;
                    if (rows is not null && !rows.TryGetValue(m.Uid, out row))
                    {
                        // Expunged by another session, and this one has not been told yet: its blob outlives the row (until
                        // housekeeping), so serve the message from it as the client still sees it (RFC 2180 4.1.3).
                        if (sel.Watch.BlobOf(m.Uid) is not { } blob)
                        {
                            missing = true; // RFC 2180 4.1.1
                            continue;
                        }
                        row = new MessageDetails(m.Uid, blob) { Size = m.Size, InternalDate = m.InternalDate, Flags = m.Flags };
                    }
                    await WriteFetchAsync(output, index + 1, m, row, items, includeFlags: flagsChanged.Contains(m.Uid), ct);
                }
                await output.FlushAsync(ct);
            }
        }
        finally
        {
            // A prefetch a failure above left behind: observed, so its own failure is not lost as unobserved.
            if (next is not null)
                await next.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        return missing ? "NO [EXPUNGEISSUED] Some messages were expunged by another session" : "OK FETCH completed";
    }

    private async Task<Dictionary<long, MessageDetails>> LoadRowsAsync(IReadOnlyList<ViewMessage> chunk, MessageDetail detail, CancellationToken ct)
    {
        var rows = new Dictionary<long, MessageDetails>();
        if (chunk.Count <= 4)
        {
            // A few messages (a client opening one): point reads beat a range query.
            foreach (var m in chunk)
            {
                if (await store.GetMessageAsync(User!, _selected!.Name, m.Uid, detail, ct) is { } row)
                    rows[m.Uid] = row;
            }
            return rows;
        }
        var wanted = chunk.Select(m => m.Uid).ToHashSet();
        await foreach (var e in store.QueryMessagesAsync(User!, _selected!.Name, chunk.Min(m => m.Uid), chunk.Max(m => m.Uid), detail, ct))
        {
            if (wanted.Contains(e.Uid))
                rows[e.Uid] = e;
        }
        return rows;
    }

    private void ApplyFlagChanges(IEnumerable<FlagChange> changes)
    {
        var sel = _selected!;
        foreach (var ch in changes)
        {
            var i = sel.IndexOf(ch.Uid);
            if (i >= 0)
                sel.Messages[i] = sel.Messages[i] with { Flags = ViewMessage.Share(ch.Flags), ModSeq = ch.ModSeq };
            // HIGHESTMODSEQ moves only in SelectedFolder.OwnUpdate or a sync: jumping over another session's change would lose it.
        }
    }

    private async Task WriteFetchAsync(PipeWriter output, int seq, ViewMessage m, MessageDetails? row, List<FetchItem> items, bool includeFlags, CancellationToken ct)
    {
        // Announce new keywords before the response starts: once its first literal is out it cannot be interrupted.
        if (includeFlags || items.Any(i => i.Kind == FetchKind.Flags))
            AnnounceNewKeywords(output, MessageFlags.Parse(m.Flags));
        var head = new StringBuilder().Append("* ").Append(seq).Append(" FETCH (");
        bool first = true;
        void Sep()
        {
            if (!first)
                head.Append(' ');
            first = false;
        }
        ParsedMessage? parsed = null;
        if (row is not null && (row.SummaryTruncated || row.Parts is null) && items.Any(i => i.NeedsRow))
            parsed = await ParseWholeAsync(row, ct);
        bool flagsWritten = false;
        foreach (var item in items)
        {
            switch (item.Kind)
            {
                case FetchKind.Uid:
                    Sep();
                    head.Append("UID ").Append(m.Uid);
                    break;
                case FetchKind.Flags:
                    Sep();
                    head.Append("FLAGS ").Append(FlagsOf(output, m));
                    flagsWritten = true;
                    break;
                case FetchKind.InternalDate:
                    Sep();
                    head.Append("INTERNALDATE ").Append(ImapFormat.DateTime(m.InternalDate));
                    break;
                case FetchKind.Size:
                    Sep();
                    head.Append("RFC822.SIZE ").Append(m.Size);
                    break;
                case FetchKind.ModSeq:
                    Sep();
                    head.Append("MODSEQ (").Append(m.ModSeq).Append(')');
                    break;
                case FetchKind.Envelope:
                    Sep();
                    head.Append("ENVELOPE ").Append(parsed is not null ? ImapViews.Envelope(parsed.Root) : row!.Envelope ?? "NIL");
                    break;
                case FetchKind.Body:
                    Sep();
                    head.Append("BODY ").Append(parsed is not null ? ImapViews.Body(parsed.Root) : row!.Body ?? "NIL");
                    break;
                case FetchKind.BodyStructure:
                    Sep();
                    head.Append("BODYSTRUCTURE ").Append(parsed is not null ? ImapViews.BodyStructure(parsed.Root) : row!.BodyStructure ?? "NIL");
                    break;
                case FetchKind.Section:
                    Sep();
                    head.Append(item.Name).Append(' ');
                    output.Write(Encoding.UTF8.GetBytes(head.ToString()));
                    head.Clear();
                    await WriteSectionAsync(output, item, m, row!, parsed, ct);
                    break;
                case FetchKind.Binary or FetchKind.BinarySize:
                    Sep();
                    var decoded = await DecodedPartAsync(item.Section, row!, parsed, ct);
                    if (decoded is null)
                    {
                        head.Append(item.Name).Append(" NIL");
                        break;
                    }
                    if (item.Kind == FetchKind.BinarySize)
                    {
                        head.Append(item.Name).Append(' ').Append(decoded.Length);
                        break;
                    }
                    var (bs, bl) = Partial(item, decoded.Length);
                    var slice = decoded.AsSpan((int)bs, (int)bl);
                    // literal8 (RFC 3516) only when the data holds NUL, which a plain literal may not.
                    head.Append(item.Name).Append(' ').Append(slice.Contains((byte)0) ? "~" : string.Empty).Append('{').Append(slice.Length).Append("}\r\n");
                    output.Write(Encoding.UTF8.GetBytes(head.ToString()));
                    head.Clear();
                    output.Write(slice);
                    break;
            }
        }
        if (includeFlags && !flagsWritten)
        {
            Sep();
            head.Append("FLAGS ").Append(FlagsOf(output, m));
        }
        head.Append(')');
        Write(output, head.ToString());
    }

    /// <summary>Sections up to this size are read whole before they are sent (checked for NUL); larger ones stream.</summary>
    private const long MaxBufferedSection = 1024 * 1024;

    /// <summary>A message parsed whole: only for rows whose stored summary was too large for the table.</summary>
    private sealed record ParsedMessage(byte[] Bytes, MimeEntity Root);

    private async Task<ParsedMessage> ParseWholeAsync(MessageDetails? row, CancellationToken ct)
    {
        var bytes = await messages.ReadAllAsync(row?.Blob ?? string.Empty, row?.Prefix, ct);
        return new ParsedMessage(bytes, MimeParser.Parse(bytes));
    }

    /// <summary>
    /// Writes BODY[section]&lt;partial&gt; as a literal: the byte range the stored part offsets give, streamed from the
    /// blob with a ranged read; HEADER.FIELDS reads the header block and keeps the fields asked for.
    /// </summary>
    private async Task WriteSectionAsync(PipeWriter output, FetchItem item, ViewMessage m, MessageDetails row, ParsedMessage? parsed, CancellationToken ct)
    {
        IMimePart? root = parsed is not null ? parsed.Root : PartMap.Parse(row.Parts);
        var section = root is null ? null : ImapViews.Resolve(root, item.Section);
        if (section is null)
        {
            output.Write("NIL"u8);
            return;
        }
        var blob = row.Blob;
        if (section.Fields is not null)
        {
            var range = await ReadRangeAsync(row, parsed, section.Offset, section.Length, ct);
            var data = section.Extract(range.Span);
            var (s, l) = Partial(item, data.Length);
            WriteLiteral(output, data.AsSpan((int)s, (int)l));
            return;
        }
        var (start, length) = Partial(item, section.Length);
        if (length <= MaxBufferedSection)
        {
            // Small enough to look at first: a plain literal may not carry NUL (RFC 3501 4.3), so a section holding
            // one (a binary part) is sent base64-encoded; BINARY[] (literal8) is the way to get the raw bytes.
            var bytes = (await ReadRangeAsync(row, parsed, section.Offset + start, length, ct)).Span;
            if (bytes.Contains((byte)0))
                WriteLiteral(output, Encoding.ASCII.GetBytes(Convert.ToBase64String(bytes, Base64FormattingOptions.InsertLineBreaks)));
            else
                WriteLiteral(output, bytes);
            return;
        }
        output.Write(Encoding.ASCII.GetBytes($"{{{length}}}\r\n"));
        await using var download = await messages.OpenReadAsync(blob, row.Prefix, section.Offset + start, length, ct);
        long copied = 0;
        while (copied < length)
        {
            var memory = output.GetMemory((int)Math.Min(64 * 1024, length - copied));
            var n = await download.ReadAsync(memory[..(int)Math.Min(memory.Length, length - copied)], ct);
            if (n == 0)
                throw new IOException($"blob {blob} ended before the announced literal");
            output.Advance(n);
            copied += n;
            if (copied % (256 * 1024) < n)
                await output.FlushAsync(ct);
        }
    }

    /// <summary>
    /// A part's content with its transfer encoding undone (BINARY): the part's MIME header and body are ranged reads.
    /// Null when the part does not exist. An unknown encoding is served as is.
    /// </summary>
    private async Task<byte[]?> DecodedPartAsync(string part, MessageDetails row, ParsedMessage? parsed, CancellationToken ct)
    {
        IMimePart? root = parsed is not null ? parsed.Root : PartMap.Parse(row.Parts);
        if (root is null)
            return null;
        var body = ImapViews.Resolve(root, part);
        var header = ImapViews.Resolve(root, part.Length == 0 ? "HEADER" : part + ".MIME");
        if (body is null || header is null)
            return null;
        var headers = MimeParser.Parse((await ReadRangeAsync(row, parsed, header.Offset, header.Length, ct)).ToArray());
        return TransferEncoding.Decode((await ReadRangeAsync(row, parsed, body.Offset, body.Length, ct)).Span, headers.TransferEncoding);
    }

    private static (long Start, long Length) Partial(FetchItem item, long total)
    {
        if (item.PartialStart is not { } start)
            return (0, total);
        start = Math.Min(start, total);
        return (start, Math.Min(item.PartialLength ?? total, total - start));
    }

    private static void WriteLiteral(PipeWriter output, ReadOnlySpan<byte> data)
    {
        output.Write(Encoding.ASCII.GetBytes($"{{{data.Length}}}\r\n"));
        output.Write(data);
    }

    /// <summary>Bytes of a message: from a whole parse, from the header block kept in the row, or a ranged blob read.</summary>
    private async Task<ReadOnlyMemory<byte>> ReadRangeAsync(MessageDetails row, ParsedMessage? parsed, long offset, long length, CancellationToken ct)
    {
        if (parsed is not null)
            return parsed.Bytes.AsMemory((int)offset, (int)length);
        if (row.Header is { } header && offset + length <= header.Length)
            return header.AsMemory((int)offset, (int)length);
        return await DownloadRangeAsync(row, offset, length, ct);
    }

    /// <summary>Bytes of the message as served (the delivery's prefix, then the blob).</summary>
    private async Task<ReadOnlyMemory<byte>> DownloadRangeAsync(MessageDetails row, long offset, long length, CancellationToken ct)
    {
        if (length == 0)
            return ReadOnlyMemory<byte>.Empty;
        await using var download = await messages.OpenReadAsync(row.Blob, row.Prefix, offset, length, ct);
        var buffer = new MemoryStream();
        await download.CopyToAsync(buffer, ct);
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    private async Task<Completion> StoreAsync(ImapCommand c, PipeWriter output, CancellationToken ct)
    {
        var a = c.Args.ToList();
        if (a.Count < 3)
            return "BAD Syntax: STORE set [(UNCHANGEDSINCE n)] FLAGS|+FLAGS|-FLAGS[.SILENT] (flags)";
        if (!TrySet(c, a[0], out var indexes, out var error))
            return error;
        long? unchangedSince = null;
        if (a[1].IsList)
        {
            var mods = a[1].Items;
            if (mods.Count != 2 || !mods[0].IsAtom("UNCHANGEDSINCE") || !long.TryParse(mods[1].Text, NumberStyles.None, CultureInfo.InvariantCulture, out var since))
                return "BAD Unknown STORE modifier";
            unchangedSince = since;
            EnableCondStore(output);
            a.RemoveAt(1);
        }
        var item = a[1].Text.ToUpperInvariant();
        bool silent = item.EndsWith(".SILENT", StringComparison.Ordinal);
        var op = silent ? item[..^7] : item;
        if (op is not ("FLAGS" or "+FLAGS" or "-FLAGS"))
            return "BAD Unknown STORE item";
        var flagTokens = a.Count == 3 && a[2].IsList ? a[2].Items : a.Skip(2).ToList();
        if (!TryFlags(flagTokens, out var flags, out error))
            return "BAD " + error;
        var sel = _selected!;
        if (sel.ReadOnly)
            return "NO [READ-ONLY] Mailbox is read-only";
        var uids = indexes.Select(i => sel.Messages[i].Uid).Where(u => !sel.Expunged.Contains(u)).ToList();
        var edit = new FlagEdit(op switch { "+FLAGS" => FlagEditMode.Add, "-FLAGS" => FlagEditMode.Remove, _ => FlagEditMode.Replace }, flags);
        var result = uids.Count == 0 ? new FlagUpdateResult([], [], []) : await store.UpdateFlagsAsync(User!, sel.Name, uids, edit, unchangedSince, ct);
        ApplyFlagChanges(result.Changed);
        sel.OwnUpdate(result);
        var changedUids = result.Changed.Select(x => x.Uid).ToHashSet();
        var modified = result.Modified.ToHashSet();
        foreach (var index in indexes)
        {
            var m = sel.Messages[index];
            if (modified.Contains(m.Uid))
                continue;
            // Without .SILENT every message gets its flags back; with it, CONDSTORE still reports new MODSEQs.
            if (!silent)
                Write(output, $"* {index + 1} FETCH ({(c.Uid ? $"UID {m.Uid} " : string.Empty)}FLAGS {FlagsOf(output, m)}{ModSeqItem(m)})");
            else if (_condStore && changedUids.Contains(m.Uid))
                Write(output, $"* {index + 1} FETCH ({(c.Uid ? $"UID {m.Uid} " : string.Empty)}MODSEQ ({m.ModSeq}))");
        }
        if (modified.Count > 0)
        {
            var set = c.Uid ? SequenceSet.Compact(modified.Order()) : SequenceSet.Compact(indexes.Where(i => modified.Contains(sel.Messages[i].Uid)).Select(i => (long)i + 1));
            return $"OK [MODIFIED {set}] Conditional STORE failed for some messages";
        }
        return "OK STORE completed";
    }

    private async Task<Completion> CopyAsync(ImapCommand c, PipeWriter output, CancellationToken ct)
    {
        var a = c.Args;
        if (a.Count != 2 || a[1].IsList)
            return $"BAD Syntax: {c.Name} set mailbox";
        if (!TrySet(c, a[0], out var indexes, out var error))
            return error;
        var sel = _selected!;
        bool move = c.Name == "MOVE";
        if (move && sel.ReadOnly)
            return "NO [READ-ONLY] Mailbox is read-only";
        var target = Normalize(a[1].Text);
        var chosen = indexes.Select(i => sel.Messages[i]).Where(m => !sel.Expunged.Contains(m.Uid)).ToList();
        if (chosen.Count == 0)
            return $"OK {c.Name} completed";
        if (!(move && target == sel.Name) && await OverQuotaAsync(chosen.Sum(m => m.Size), ct))
            return "NO [OVERQUOTA] Mailbox is full";
        var sources = new List<long>();
        var results = new List<AddedEntry>();
        var blobs = new List<string>();
        foreach (var chunk in chosen.Chunk(FetchChunk))
        {
            var rows = await LoadRowsAsync(chunk, MessageDetail.Copy, ct);
            var now = DateTimeOffset.UtcNow;
            var entries = new List<MailboxEntry>();
            foreach (var m in chunk)
            {
                if (!rows.TryGetValue(m.Uid, out var row))
                    continue;
                entries.Add(row.CopyAs(Core.MessageIds.New(now)));
                sources.Add(m.Uid);
                blobs.Add(row.Blob);
            }
            try
            {
                results.AddRange(await store.AddAsync(User!, target, entries, createFolder: false, ct));
            }
            catch (FolderNotFoundException)
            {
                return "NO [TRYCREATE] No such mailbox";
            }
        }
        watcher.Notify(User!, target);
        if (JunkMoves.Judgement(MailboxWriter.SpecialUse(sel.Name) == @"\Junk", MailboxWriter.SpecialUse(target)) is { } spam)
            ReportJudgement(blobs, spam);
        var code = results.Count == 0 ? string.Empty : $"[COPYUID {results[0].UidValidity} {SequenceSet.Compact(sources)} {SequenceSet.Compact(results.Select(r => r.Uid))}] ";
        if (!move)
            return $"OK {code}COPY completed";
        // MOVE (RFC 6851): the COPYUID comes untagged before the EXPUNGEs.
        if (code.Length > 0)
            Write(output, $"* OK {code.TrimEnd()} Moved");
        var doomed = chosen.Where(m => sources.Contains(m.Uid)).Select(m => m.ToMailboxMessage()).ToList();
        var removed = await store.ExpungeAsync(User!, sel.Name, doomed, ct);
        foreach (var uid in removed)
            sel.Expunged.Add(uid);
        ReportExpunges(output);
        watcher.Notify(User!, sel.Name);
        return "OK MOVE completed";
    }

    /// <summary>
    /// A move into or out of Junk teaches the spam engine. Reported in the background: the command does not wait for
    /// the learn queue, and a failure to report costs a lesson, never the move.
    /// </summary>
    private void ReportJudgement(List<string> blobs, bool spam)
    {
        if (training is null || training is NoSpamTraining || blobs.Count == 0)
            return;
        var user = User!;
        _ = Task.Run(async () =>
        {
            try
            {
                await training.ReportAsync(user, blobs, spam);
            }
            catch (Exception e) when (StorageErrors.IsStorageFailure(e))
            {
                logger.LogWarning("{User}: {Count} {Kind} report(s) not queued: {Error}", user, blobs.Count, spam ? "spam" : "ham", e.Message);
            }
        });
    }

    private async Task<Completion> ExpungeAsync(ImapCommand c, PipeWriter output, CancellationToken ct)
    {
        var sel = _selected!;
        if (sel.ReadOnly)
            return "NO [READ-ONLY] Mailbox is read-only";
        SequenceSet? uids = null;
        if (c.Uid)
        {
            if (c.Args.Count == 1 && c.Args[0].Text == "$")
                uids = SequenceSet.TryParse(_saved.Count == 0 ? "0" : SequenceSet.Compact(_saved.Order()), out var saved) ? saved : null;
            else if (c.Args.Count != 1 || !SequenceSet.TryParse(c.Args[0].Text, out var set))
                return "BAD Syntax: UID EXPUNGE set";
            else
                uids = set;
            if (uids is null)
                return "OK EXPUNGE completed (nothing saved)";
        }
        else if (c.Args.Count != 0)
            return "BAD Syntax: EXPUNGE";
        await ExpungeDeletedAsync(uids, output, ct);
        return "OK EXPUNGE completed";
    }

    /// <summary>Removes messages flagged \Deleted (within <paramref name="uids"/> if given); reports EXPUNGEs unless <paramref name="output"/> is null (CLOSE).</summary>
    private async Task ExpungeDeletedAsync(SequenceSet? uids, PipeWriter? output, CancellationToken ct)
    {
        var sel = _selected!;
        // Flags set by other sessions count too: catch up first.
        if (output is not null)
            await SyncAsync(output, allowExpunge: true, force: true, ct);
        var largest = sel.LargestUid;
        var doomed = sel.Messages.Where(m => MessageFlags.Has(m.Flags, MessageFlags.Deleted) && (uids is null || uids.Contains(m.Uid, largest))).Select(m => m.ToMailboxMessage()).ToList();
        if (doomed.Count == 0)
            return;
        var removed = await store.ExpungeAsync(User!, sel.Name, doomed, ct);
        watcher.Notify(User!, sel.Name);
        foreach (var uid in removed)
            sel.Expunged.Add(uid);
        if (output is not null)
            ReportExpunges(output);
    }
}
