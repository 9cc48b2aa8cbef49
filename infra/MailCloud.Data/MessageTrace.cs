using System.Globalization;
using Azure;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>The stages a message's trace records; stored as their lower-case names.</summary>
public enum TraceStage
{
    /// <summary>Accepted by a front end (listener, client, HELO, TLS, authenticated user, size, recipients).</summary>
    Accepted,
    /// <summary>The filter's verdict: authentication results, spam score, virus scan.</summary>
    Filtered,
    /// <summary>Held in quarantine (virus, spam over the threshold).</summary>
    Held,
    /// <summary>Where the router sent each recipient (local mailbox, remote domain, failure).</summary>
    Routed,
    /// <summary>Indexed into a user's folder (UID).</summary>
    Indexed,
    /// <summary>One connection to a remote host with the peer's reply for each recipient.</summary>
    Attempt,
    /// <summary>Recipients deferred to a later attempt.</summary>
    Deferred,
    /// <summary>A bounce or delay notice sent to the sender (its own id is traced as a message too).</summary>
    Bounced,
    /// <summary>A stage failed and left the work in its queue for a retry.</summary>
    Error,
}

public sealed record TraceEvent(string MessageId, DateTimeOffset At, TraceStage Stage, string Text);

/// <summary>One message's trace as the CLI and admin UI show it, with what the address index knows.</summary>
public sealed record MessageTraceView(string MessageId, IReadOnlyList<TraceEvent> Events);

/// <summary>
/// The <c>trace</c> table: what each pipeline stage did with a message, bounded in time and cleaned by housekeeping.
/// Events live in partition <c>yyyyMMdd|messageId</c> (the day is the one in the time-ordered id, so a message's
/// events share one partition whatever day a retry runs) and are written one transaction per stage. The addresses of
/// a message's envelope go into the day's index partition <c>a|yyyyMMdd</c> (row <c>address|messageId</c>), in one
/// more transaction shared with the other messages traced meanwhile (<see cref="GroupCommit{TKey, TItem, TResult}"/>):
/// a lookup by address is one range query per day kept, and expiry is a key range on both kinds of partition, never
/// a scan. Writing a trace is best effort: a stage never fails because its trace could
/// not be stored (the queue's retry would repeat real work for a diagnostic).
/// </summary>
public sealed class MessageTraceStore
{
    /// <summary>Addresses of one message indexed for lookup; a list expansion's members are not (only its envelope).</summary>
    public const int AddressLimit = 20;

    /// <summary>A transaction holds at most 100 rows; a stage writing more (a big list) keeps the first ones and says so.</summary>
    private const int EventLimit = 99;

    private const string AddressPrefix = "a|";
    private readonly TableClient _table;

    /// <summary>Events of one stage of one message, in one request; the addresses (first stage only) in one more, shared with messages traced at the same time.</summary>
    public async Task RecordAsync(string messageId, IReadOnlyList<(DateTimeOffset At, TraceStage Stage, string Text)> events, IEnumerable<string>? addresses = null,
        CancellationToken cancellationToken = default)
    {
        if (events.Count == 0)
            return;
        var partition = Partition(messageId);
        var actions = new List<TableTransactionAction>();
        // The suffix is a hash of the event: a re-run writing the same event at the same time (acceptance) replaces its row.
        foreach (var (e, i) in events.Take(EventLimit).Select((e, i) => (e, i)))
        {
            actions.Add(new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(partition,
                $"{e.At.UtcDateTime.ToString("yyyyMMddHHmmssfffffff", CultureInfo.InvariantCulture)}-{i:D2}{Hash(e.Stage, e.Text)}")
            {
                ["Stage"] = e.Stage.ToString().ToLowerInvariant(),
                ["Text"] = MailboxWriter.Cap(events.Count > EventLimit && i == EventLimit - 1 ? $"{e.Text} (and {events.Count - EventLimit} more not traced)" : e.Text),
                ["At"] = e.At,
            }));
        }
        await AddOrReplaceAsync(actions, cancellationToken).ConfigureAwait(false);
        if (addresses is null || Day(messageId) is not { } day)
            return; // an id without a day (none of ours) is found by id only
        var at = events[0].At;
        var index = AddressPrefix + day;
        var rows = addresses.Where(a => a.Length > 0).Select(a => a.ToLowerInvariant()).Distinct().Take(AddressLimit)
            .Select(a => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(index, AddressKey(a) + Separator + TableKeys.Escape(messageId)) { ["At"] = at }))
            .ToList();
        if (rows.Count > 0)
            await _addressRows.AddAsync(index, rows, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The day's address rows of messages traced at the same time share a partition, so they are written as a group
    /// (one transaction per 100 rows instead of one per message; a re-run's collision replaces them).
    /// </summary>
    private readonly GroupCommit<string, List<TableTransactionAction>, bool> _addressRows;

    public MessageTraceStore(StorageAccount account)
    {
        _table = account.Tables.GetTableClient(StorageNames.TraceTable);
        _addressRows = new GroupCommit<string, List<TableTransactionAction>, bool>(async (_, groups) =>
        {
            // One message's rows twice (the same stage run twice at once) would be the same entity twice in a batch.
            var rows = groups.SelectMany(g => g).GroupBy(a => a.Entity.RowKey, StringComparer.Ordinal).Select(g => g.Last()).ToList();
            foreach (var chunk in rows.Chunk(100))
                await AddOrReplaceAsync([.. chunk], CancellationToken.None).ConfigureAwait(false);
            return groups.Select(_ => true).ToList();
        }, maxGroup: 32);
    }

    /// <summary>
    /// Inserts the rows, and replaces them only when one is there already (a re-run of the stage): an upsert costs the
    /// service a lookup before its write, and the day's address partition is large (on Azurite each lookup walks it).
    /// </summary>
    private async Task AddOrReplaceAsync(List<TableTransactionAction> inserts, CancellationToken cancellationToken)
    {
        try
        {
            await _table.SubmitTransactionAsync(inserts, cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException e) when (e.Status == 409)
        {
            // Nothing of the transaction was written: all of it again, as replacements.
            await _table.SubmitTransactionAsync(inserts.Select(a => new TableTransactionAction(TableTransactionActionType.UpsertReplace, a.Entity)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A message's events, oldest first; empty when nothing was recorded (or it has expired).</summary>
    public async Task<IReadOnlyList<TraceEvent>> EventsAsync(string messageId, CancellationToken cancellationToken = default)
    {
        var list = new List<TraceEvent>();
        await foreach (var e in _table.QueryRowsAsync(TableFilter.PartitionKey(Partition(messageId)), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(new TraceEvent(messageId, e.ReadDate("At") ?? e.Timestamp ?? DateTimeOffset.MinValue,
                Enum.TryParse<TraceStage>(e.ReadString("Stage"), ignoreCase: true, out var stage) ? stage : TraceStage.Error, e.ReadString("Text") ?? string.Empty));
        }
        return list.OrderBy(e => e.At).ToList();
    }

    /// <summary>What the CLI, the API and the admin page look up: an address (it has an @) or one message id.</summary>
    public async Task<IReadOnlyList<MessageTraceView>> FindAsync(string key, int limit = 20, CancellationToken cancellationToken = default) =>
        key.Contains('@', StringComparison.Ordinal)
            ? await ForAddressAsync(key, limit, cancellationToken).ConfigureAwait(false)
            : [new MessageTraceView(key, await EventsAsync(key, cancellationToken).ConfigureAwait(false))];

    /// <summary>Days an address lookup searches at most, however long traces are kept (or housekeeping has not run).</summary>
    public const int MaxDaysSearched = 400;

    /// <summary>The newest messages from or to <paramref name="address"/>, newest first, with their events.</summary>
    public async Task<IReadOnlyList<MessageTraceView>> ForAddressAsync(string address, int limit = 20, CancellationToken cancellationToken = default)
    {
        // The oldest index partition still kept (one request), then one range query per day, newest day first, 16 days
        // at a time, until enough messages are found: an operator's lookup, 2 requests for a busy address, 1 + the
        // days kept (31 at the default retention) for one seen once, never more than 1 + MaxDaysSearched.
        var oldest = await _table.QueryFirstPageAsync(TableFilter.And($"PartitionKey ge {TableFilter.Quote(AddressPrefix)}", $"PartitionKey lt {TableFilter.Quote("a}")}"),
            ["PartitionKey"], 1, cancellationToken).ConfigureAwait(false);
        if (oldest.Count == 0 || !DateTime.TryParseExact(oldest[0].PartitionKey[AddressPrefix.Length..], "yyyyMMdd", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var first))
            return [];
        var prefix = AddressKey(address.ToLowerInvariant()) + Separator;
        var today = DateTime.UtcNow.Date;
        var days = Math.Min(MaxDaysSearched, Math.Max(0, (int)(today - first.Date).TotalDays) + 1);
        const int batch = 16;
        var found = new List<(string Id, DateTimeOffset At)>();
        for (int start = 0; start < days && found.Count < limit; start += batch)
        {
            // Every day of this batch is newer than every day of the next, so once enough are found the rest can wait.
            var perDay = await Task.WhenAll(Enumerable.Range(start, Math.Min(batch, days - start)).Select(async d =>
            {
                var rows = new List<(string Id, DateTimeOffset At)>();
                var filter = TableFilter.And(TableFilter.PartitionKey(AddressPrefix + today.AddDays(-d).ToString("yyyyMMdd", CultureInfo.InvariantCulture)), TableFilter.RowKeyPrefix(prefix));
                await foreach (var e in _table.QueryRowsAsync(filter, ["RowKey", "At"], cancellationToken: cancellationToken).ConfigureAwait(false))
                    rows.Add((TableKeys.Unescape(e.RowKey[prefix.Length..]), e.ReadDate("At") ?? DateTimeOffset.MinValue));
                return rows;
            })).ConfigureAwait(false);
            found.AddRange(perDay.SelectMany(f => f));
        }
        var views = new List<MessageTraceView>();
        foreach (var (id, _) in found.OrderByDescending(i => i.At).Take(limit))
            views.Add(new MessageTraceView(id, await EventsAsync(id, cancellationToken).ConfigureAwait(false)));
        return views;
    }

    /// <summary>Deletes events of messages from days before <paramref name="cutoff"/> and address rows older than it; returns the rows deleted.</summary>
    public async Task<int> ExpireAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        var day = cutoff.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        // Both kinds of partition start with their day, so what has expired is two key ranges.
        var old = await CollectAsync($"PartitionKey lt {TableFilter.Quote(day)}", cancellationToken).ConfigureAwait(false);
        old.AddRange(await CollectAsync(TableFilter.And($"PartitionKey ge {TableFilter.Quote(AddressPrefix)}", $"PartitionKey lt {TableFilter.Quote(AddressPrefix + day)}"), cancellationToken).ConfigureAwait(false));
        int deleted = 0;
        foreach (var partition in old.GroupBy(k => k.PartitionKey))
        {
            foreach (var chunk in partition.Chunk(100))
            {
                try
                {
                    await _table.SubmitTransactionAsync(chunk.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, k, ETag.All)), cancellationToken).ConfigureAwait(false);
                    deleted += chunk.Length;
                }
                catch (TableTransactionFailedException e) when (e.Status == 404)
                {
                    // Another housekeeping run got there first: the next run finds what is left.
                }
            }
        }
        return deleted;
    }

    private async Task<List<TableEntity>> CollectAsync(string filter, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>();
        await foreach (var e in _table.QueryRowsAsync(filter, ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            rows.Add(e);
        return rows;
    }

    private static string Hash(TraceStage stage, string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{stage}|{text}")))[..8];

    /// <summary>The event partition of a message: its id's day and the id.</summary>
    public static string Partition(string messageId) => (Day(messageId) ?? "00000000") + "|" + TableKeys.Escape(messageId);

    /// <summary>The day a message id carries (ids embed yyyyMMddHHmmssfff, a bounce's after its prefix).</summary>
    private static string? Day(string messageId)
    {
        int run = 0;
        for (int i = 0; i < messageId.Length; i++)
        {
            run = char.IsAsciiDigit(messageId[i]) ? run + 1 : 0;
            if (run == 17)
                return messageId[(i - 16)..(i - 8)];
        }
        return null;
    }

    private const char Separator = '|';

    /// <summary>An address as the first part of an index row key: '|' (legal in a local part) escaped like the rest.</summary>
    private static string AddressKey(string address) => TableKeys.Escape(address).Replace("|", "%7C", StringComparison.Ordinal);
}
