using System.IO.Pipelines;
using MailCloud.Data;
using MailCloud.Mime;

namespace MailCloud.Imap;

/// <summary>
/// SEARCH over the session's view. Flags, sizes, dates and UIDs come from the view itself; address and subject
/// keys from the stored summary columns; BCC and HEADER from the header block (a ranged read); BODY and TEXT read
/// and decode the message. Each message is loaded only as far as the criteria need.
/// </summary>
public sealed partial class ImapSession
{

    private async Task<Completion> SearchAsync(ImapCommand c, PipeWriter output, CancellationToken ct)
    {
        var args = c.Args.ToList();
        // ESEARCH (RFC 4731): SEARCH RETURN (MIN MAX COUNT ALL) criteria.
        HashSet<string>? returns = null;
        if (args.Count >= 2 && args[0].IsAtom("RETURN") && args[1].IsList)
        {
            returns = args[1].Items.Select(t => t.Text.ToUpperInvariant()).ToHashSet();
            if (returns.Count == 0)
                returns.Add("ALL");
            if (returns.Any(r => r is not ("MIN" or "MAX" or "COUNT" or "ALL" or "SAVE")))
                return "BAD Unknown RETURN option";
            args.RemoveRange(0, 2);
        }
        // IMAP4rev2 answers every SEARCH with ESEARCH.
        if (returns is null && _rev2)
            returns = ["ALL"];
        if (!SearchParser.TryParse(args, out var key, out var charset, out var error))
            return "BAD " + error;
        if (charset is not null && !charset.Equals("UTF-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("US-ASCII", StringComparison.OrdinalIgnoreCase))
            return "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset";
        var sel = _selected!;
        var found = new List<int>();
        long maxModSeq = 0;
        bool usesModSeq = Contains<ModSeqKey>(key);
        if (usesModSeq)
            EnableCondStore(output);
        for (int start = 0; start < sel.Messages.Count; start += FetchChunk)
        {
            var chunk = sel.Messages.GetRange(start, Math.Min(FetchChunk, sel.Messages.Count - start));
            var rows = (key.Needs & 7) != 0 ? await LoadRowsAsync(chunk, MessageDetail.Search, ct) : null;
            for (int j = 0; j < chunk.Count; j++)
            {
                var m = chunk[j];
                MessageDetails? row = null;
                if (rows is not null && !rows.TryGetValue(m.Uid, out row))
                    continue; // expunged elsewhere
                var subject = new SearchSubject(start + j + 1, m, row);
                if (await MatchesAsync(key, subject, ct))
                {
                    found.Add(start + j);
                    maxModSeq = Math.Max(maxModSeq, m.ModSeq);
                }
            }
        }
        var numbers = found.Select(i => c.Uid ? sel.Messages[i].Uid : i + 1).ToList();
        if (returns?.Contains("SAVE") == true)
        {
            _saved = found.Select(i => sel.Messages[i].Uid).ToHashSet();
            returns.Remove("SAVE");
            if (returns.Count == 0)
                return "OK SEARCH completed, result saved";
        }
        if (returns is not null)
        {
            var parts = new List<string>();
            if (returns.Contains("MIN") && numbers.Count > 0)
                parts.Add($"MIN {numbers.Min()}");
            if (returns.Contains("MAX") && numbers.Count > 0)
                parts.Add($"MAX {numbers.Max()}");
            if (returns.Contains("ALL") && numbers.Count > 0)
                parts.Add($"ALL {SequenceSet.Compact(numbers.Order())}");
            if (returns.Contains("COUNT"))
                parts.Add($"COUNT {numbers.Count}");
            if (usesModSeq && numbers.Count > 0)
            {
                // RFC 7162 3.1.5: with only MIN and/or MAX returned, the MODSEQ is that of the message(s) returned.
                long modSeq = returns.Contains("ALL") || returns.Contains("COUNT") ? maxModSeq
                    : new[] { returns.Contains("MIN") ? found[numbers.IndexOf(numbers.Min())] : -1, returns.Contains("MAX") ? found[numbers.IndexOf(numbers.Max())] : -1 }
                        .Where(i => i >= 0).Select(i => sel.Messages[i].ModSeq).DefaultIfEmpty(maxModSeq).Max();
                parts.Add($"MODSEQ {modSeq}");
            }
            Write(output, $"* ESEARCH (TAG \"{c.Tag}\"){(c.Uid ? " UID" : string.Empty)}{string.Concat(parts.Select(p => " " + p))}");
        }
        else
        {
            var tail = usesModSeq && numbers.Count > 0 ? $" (MODSEQ {maxModSeq})" : string.Empty;
            Write(output, "* SEARCH" + string.Concat(numbers.Select(n => " " + n)) + tail);
        }
        return "OK SEARCH completed";
    }

    private static bool Contains<T>(SearchKey key) where T : SearchKey => key switch
    {
        T => true,
        NotKey n => Contains<T>(n.Key),
        OrKey o => Contains<T>(o.Left) || Contains<T>(o.Right),
        AndKey a => a.Keys.Any(Contains<T>),
        _ => false,
    };

    /// <summary>One message under evaluation; the header block and the text are loaded on first use.</summary>
    private sealed class SearchSubject(int seq, ViewMessage message, MessageDetails? row)
    {
        public int Seq { get; } = seq;
        public ViewMessage Message { get; } = message;
        public MessageDetails? Row { get; } = row;
        public MimeEntity? Headers { get; set; }
        public string? Text { get; set; }
    }

    private async Task<bool> MatchesAsync(SearchKey key, SearchSubject s, CancellationToken ct)
    {
        var sel = _selected!;
        var m = s.Message;
        switch (key)
        {
            case AllKey:
                return true;
            case NoneKey:
                return false;
            case FlagKey f:
                return (f.Flag == "\\Recent" ? _selected!.Recent.Contains(m.Uid) : MessageFlags.Has(m.Flags, f.Flag)) == f.Set;
            case SavedKey:
                return _saved.Contains(m.Uid);
            case SetKey k:
                return k.Uid ? k.Set.Contains(m.Uid, sel.LargestUid) : k.Set.Contains(s.Seq, sel.Messages.Count);
            case SizeKey z:
                return z.Larger ? m.Size > z.Size : m.Size < z.Size;
            case ModSeqKey q:
                return m.ModSeq >= q.ModSeq;
            case DateKey d:
            {
                // SENT* compare the Date header's own calendar date, in its own zone (RFC 3501 6.4.4); the stored Date
                // column is UTC, so the header is read (from the row's header block: no blob read).
                DateOnly? date = d.Sent
                    ? DateParser.TryParse((await HeadersAsync(s, ct)).GetHeader("Date")?.Value, out var sent) ? DateOnly.FromDateTime(sent.DateTime) : null
                    : DateOnly.FromDateTime(m.InternalDate.UtcDateTime);
                if (date is null)
                    return false;
                return d.Compare switch
                {
                    DateCompare.Before => date < d.Date,
                    DateCompare.On => date == d.Date,
                    _ => date >= d.Date,
                };
            }
            case TextKey t:
                return await MatchesTextAsync(t, s, ct);
            case NotKey n:
                return !await MatchesAsync(n.Key, s, ct);
            case OrKey o:
                return await MatchesAsync(o.Left, s, ct) || await MatchesAsync(o.Right, s, ct);
            case AndKey a:
                foreach (var k in a.Keys)
                {
                    if (!await MatchesAsync(k, s, ct))
                        return false;
                }
                return true;
            default:
                return false;
        }
    }

    private async Task<bool> MatchesTextAsync(TextKey t, SearchSubject s, CancellationToken ct)
    {
        static bool Has(string? haystack, string needle) => haystack is not null && haystack.Contains(needle, StringComparison.OrdinalIgnoreCase);
        switch (t.Field)
        {
            case SearchText.From:
                return HasAddress(s.Row?.From, t.Value);
            case SearchText.To:
                return HasAddress(s.Row?.To, t.Value);
            case SearchText.Cc:
                return HasAddress(s.Row?.Cc, t.Value);
            case SearchText.Subject:
                return Has(s.Row?.Subject, t.Value);
            case SearchText.Bcc or SearchText.Header:
            {
                var headers = await HeadersAsync(s, ct);
                var name = t.Field == SearchText.Bcc ? "Bcc" : t.HeaderName!;
                // HEADER name "" matches every message that has the field.
                return headers.GetHeaders(name).Any(h => t.Value.Length == 0 || Has(h.DecodedValue, t.Value));
            }
            case SearchText.Body:
                return Has(await TextAsync(s, ct), t.Value);
            default:
            {
                var headers = await HeadersAsync(s, ct);
                return headers.Headers.Any(h => Has(h.DecodedValue, t.Value)) || Has(await TextAsync(s, ct), t.Value);
            }
        }
    }

    /// <summary>
    /// An address field matches on its text as written (decoded) or on any address in it as ENVELOPE shows it:
    /// "Name &lt;local@domain&gt;", so comments and folding inside an address do not hide it.
    /// </summary>
    private static bool HasAddress(string? raw, string needle)
    {
        if (raw is null)
            return false;
        if (EncodedWords.Decode(raw).Contains(needle, StringComparison.OrdinalIgnoreCase))
            return true;
        foreach (var a in AddressParser.ParseList(raw))
        {
            var mailboxes = a is GroupAddress g ? g.Members : a is MailboxAddress m ? [m] : [];
            if (mailboxes.Any(m => m.ToString().Contains(needle, StringComparison.OrdinalIgnoreCase)) || a.Name?.Contains(needle, StringComparison.OrdinalIgnoreCase) == true)
                return true;
        }
        return false;
    }

    private async Task<MimeEntity> HeadersAsync(SearchSubject s, CancellationToken ct)
    {
        if (s.Headers is not null)
            return s.Headers;
        var root = PartMap.Parse(s.Row?.Parts);
        byte[] header;
        if (s.Row?.Header is { } stored)
            header = stored; // kept in the row at delivery: no blob read
        else if (root is not null && s.Row is not null)
            header = (await DownloadRangeAsync(s.Row, root.HeaderStart, root.BodyStart - root.HeaderStart, ct)).ToArray();
        else
            header = (await ParseWholeAsync(s.Row, ct)).Bytes;
        s.Headers = MimeParser.Parse(header);
        return s.Headers;
    }

    /// <summary>The decoded text of every text part (transfer encoding and charset undone), for BODY and TEXT.</summary>
    private async Task<string> TextAsync(SearchSubject s, CancellationToken ct)
    {
        if (s.Text is not null)
            return s.Text;
        var parsed = await ParseWholeAsync(s.Row, ct);
        var texts = parsed.Root.Walk().Where(e => e.Children.Count == 0 && e.Message is null && e.MediaType == "text").Select(e => e.GetText(parsed.Bytes));
        s.Text = string.Join("\n", texts);
        return s.Text;
    }
}
