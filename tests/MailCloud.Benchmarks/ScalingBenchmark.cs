using System.Diagnostics;
using System.Text;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Mime;
using MailCloud.Storage;

namespace MailCloud.Benchmarks;

/// <summary>
/// Does the cost of a delivery, a flag change or an expunge grow with the mailbox? One user's INBOX grows to each
/// size in turn (default 100, 10,000 and 100,000 messages, all in the user's one partition, seeded straight into the
/// table), and at each size the same operations run 20 times through the real stores on Azurite: storage requests
/// per operation (from the request counter, by operation name) and the median time.
/// </summary>
internal static class ScalingBenchmark
{
    public static async Task RunAsync(IReadOnlyList<int> sizes)
    {
        // Azurite in memory: with its files on disk it rewrites the whole table database as it grows (Loki's autosave),
        // which at 100,000 rows measures the emulator's persistence instead of MailCloud's requests.
        bool bulk = sizes.Any(s => s > BulkAbove) && AzuriteBulkSeed.Enable();
        await using var env = await BenchEnvironment.StartAsync(inMemory: true);
        var account = env.Account;
        var user = MailAddress.Parse("alice@example.test");
        var mailboxes = account.Tables.GetTableClient(StorageNames.MailboxTable);
        var store = new MailboxStore(account);
        var directory = StorageProvisioner.Directory(account);
        var bytes = Encoding.ASCII.GetBytes("From: a <a@remote.example>\r\nTo: alice@example.test\r\nSubject: scaling\r\nMessage-ID: <s@remote.example>\r\n\r\nbody\r\n");
        var summary = MailboxWriter.SummaryProperties(MessageSummary.Of(MimeParser.Parse(bytes, new MimeParserOptions { KeepRootHeaderUpTo = MessageSummary.MaxStoredHeader })));
        await store.EnsureDefaultFoldersAsync(user);
        Console.WriteLine($"Scaling benchmark: one user's INBOX at {string.Join(", ", sizes)} messages, Azurite (in memory), {Environment.ProcessorCount} cores; 20 runs per row, median time");
        Console.WriteLine($"  {"messages",9} {"operation",-38} {"requests",9} {"median ms",10}  requests by operation");
        int seeded = 0;
        foreach (var size in sizes)
        {
            var sw = Stopwatch.StartNew();
            seeded = bulk && size > BulkAbove
                ? await BulkSeedAsync(env, mailboxes, user, seeded, size, summary)
                : await SeedAsync(mailboxes, user, seeded, size, summary);
            Console.WriteLine($"  ({size} seeded in {sw.Elapsed.TotalSeconds:F0} s)");
            int n = 0;
            await Row(account, store, size, "delivery (index 1 new message)", async () =>
                await store.AddAsync(user, "INBOX", [new MailboxEntry($"scale-{size}-{n++}", "bench/none", bytes.Length, DateTimeOffset.UtcNow, string.Empty, summary)], createFolder: true));
            int m = 0;
            await Row(account, store, size, "repeated delivery (same work item)", async () =>
                await store.AddAsync(user, "INBOX", [new MailboxEntry($"scale-{size}-{m++}", "bench/none", bytes.Length, DateTimeOffset.UtcNow, string.Empty, summary)], createFolder: true));
            var random = new Random(size);
            await Row(account, store, size, "STORE 1 message +FLAGS \\Flagged", async () =>
                await store.UpdateFlagsAsync(user, "INBOX", [random.Next(1, size + 1)], FlagEdit.Add(random.Next(2) == 0 ? "\\Flagged" : "$Bench")));
            int toggle = 0;
            await Row(account, store, size, "STORE 100 messages (1:100) +/-\\Seen", async () =>
            {
                bool add = toggle++ % 2 == 0;
                await store.UpdateFlagsAsync(user, "INBOX", Enumerable.Range(1, 100).Select(i => (long)i).ToList(), add ? FlagEdit.Add("\\Seen") : FlagEdit.Remove("\\Seen"));
            });
            var whole = Enumerable.Range(1, size).Select(i => (long)i).ToList();
            await Row(account, store, size, "STORE 1:* +/-\\Seen (whole folder)", async () =>
            {
                bool add = toggle++ % 2 == 0;
                await store.UpdateFlagsAsync(user, "INBOX", whole, add ? FlagEdit.Add("\\Seen") : FlagEdit.Remove("\\Seen"));
            }, runs: 5);
            // The same through a host's folder cache (what IMAP sessions use), opened once beforehand: the store takes
            // the flags from it while the folder row says it is current. A background fold starts inside the STORE
            // that crosses the fold mark, so its first requests would land on this row's count; this store's mark is
            // raised to its run limit so the row counts the STORE alone (the rows above show what folds cost).
            var cache = new CachedMailboxStore(new MailboxStore(account) { FoldFlagRunsAbove = FlagRuns.MaxRuns });
            await cache.OpenAsync(user, "INBOX");
            await Row(account, store, size, "STORE 1:* +/-\\Seen, host's folder cache", async () =>
            {
                bool add = toggle++ % 2 == 0;
                await cache.UpdateFlagsAsync(user, "INBOX", whole, add ? FlagEdit.Add("\\Seen") : FlagEdit.Remove("\\Seen"));
            }, runs: 5);
            long nextExpunge = size;
            await Row(account, store, size, "EXPUNGE 1 message", async () =>
                await store.ExpungeAsync(user, "INBOX", [new MailboxMessage(nextExpunge--, 0, string.Empty, string.Empty, string.Empty)]));
            await Row(account, store, size, "recipient lookup (user)", async () => await directory.ResolveRecipientAsync(user));
            await Row(account, store, size, "catch-up, 1 change (folder row + log)", async () =>
            {
                var now = (await store.GetFolderAsync(user, "INBOX"))!;
                _ = await store.ReadChangeLogAsync(user, now, now.HighestModSeq - 1) ?? throw new InvalidOperationException("no change log");
            });
            var folder = (await store.GetFolderAsync(user, "INBOX"))!;
            await Row(account, store, size, "fallback: rows changed since (scan)", async () => await store.ChangedSinceAsync(user, "INBOX", folder.HighestModSeq - 1), runs: 5);
            await Row(account, store, size, "quota usage (sum of folder rows)", async () => await store.GetUsageAsync(user));
            await Row(account, store, size, "SELECT's read (whole folder)", async () => await store.OpenAsync(user, "INBOX"), runs: 3);
            // A host that has not got the folder in memory (started, scaled out, evicted it): from the rows with their
            // summaries, as without stored indexes, and from the index an earlier host wrote.
            await Row(account, store, size, "cold SELECT, new host, from the rows", async () => await new CachedMailboxStore(new MailboxStore(account)).OpenAsync(user, "INBOX"), runs: 3);
            var indexes = new BlobFolderIndexSnapshots(account);
            var writer = new CachedMailboxStore(new MailboxStore(account), indexes: indexes) { IndexFrom = 1, IndexWriteDelay = TimeSpan.Zero };
            await writer.OpenAsync(user, "INBOX");
            await writer.FlushIndexWritesAsync();
            await Row(account, store, size, "cold SELECT, new host, from its index", async () =>
                await new CachedMailboxStore(new MailboxStore(account), indexes: indexes) { IndexFrom = 1 }.OpenAsync(user, "INBOX"), runs: 5);
            var blob = account.Blobs.GetBlobContainerClient(StorageNames.FolderIndexContainer).GetBlobClient(BlobFolderIndexSnapshots.BlobName(user, "INBOX", folder.UidValidity));
            var stored = (await blob.DownloadContentAsync()).Value.Content.ToArray();
            var parse = Stopwatch.StartNew();
            StoredFolderIndex? read = null;
            for (int i = 0; i < 5; i++)
                _ = FolderIndexFormat.TryRead(stored, out read);
            var listMs = parse.Elapsed.TotalMilliseconds / 5;
            parse.Restart();
            for (int i = 0; i < 5; i++)
                _ = read!.Packed!.TryRead(out _);
            var summariesMs = parse.Elapsed.TotalMilliseconds / 5;
            var f = System.Globalization.CultureInfo.InvariantCulture;
            Console.WriteLine($"  {size,9}   (the index: {stored.Length / 1024} KiB; the list parsed in {listMs.ToString("F1", f)} ms at SELECT, the summaries in {summariesMs.ToString("F1", f)} ms at the first FETCH)");
        }
    }

    /// <summary>
    /// One row: <paramref name="action"/> timed and counted alone, then the background flag folds it started are
    /// waited for outside the timing and counted apart (printed as "+ n background"), so a fold does not land on
    /// whichever operation happens to run while it does.
    /// </summary>
    private static async Task Row(StorageAccount account, MailboxStore store, int size, string name, Func<Task> action, int runs = 20)
    {
        var times = new List<double>();
        var byOperation = new Dictionary<string, long>();
        var background = new Dictionary<string, long>();
        long total = 0, folds = 0;
        for (int i = 0; i < runs; i++)
        {
            await store.FoldsIdleAsync();
            account.RequestCounter.Reset();
            var sw = Stopwatch.StartNew();
            await action();
            times.Add(sw.Elapsed.TotalMilliseconds);
            total += Tally(account, byOperation);
            await store.FoldsIdleAsync();
            folds += Tally(account, background);
        }
        times.Sort();
        string Ops(Dictionary<string, long> counts) => string.Join(", ", counts.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value / (double)runs:0.#}"));
        var after = folds == 0 ? string.Empty : $"; background folds: {folds / (double)runs:0.#} ({Ops(background)})";
        Console.WriteLine($"  {size,9} {name,-38} {total / (double)runs,9:0.#} {times[times.Count / 2],10:F1}  {Ops(byOperation)}{after}");
    }

    /// <summary>Adds the counter's requests since its last reset to <paramref name="into"/>, resets it, returns how many.</summary>
    private static long Tally(StorageAccount account, Dictionary<string, long> into)
    {
        long total = account.RequestCounter.Total;
        foreach (var (k, v) in account.RequestCounter.Snapshot())
            into[k] = into.GetValueOrDefault(k) + v;
        account.RequestCounter.Reset();
        return total;
    }

    /// <summary>Sizes above this are seeded through the API up to it and the rest copied inside Azurite (see <see cref="AzuriteBulkSeed"/>).</summary>
    private const int BulkAbove = 10_000;

    private static async Task<int> BulkSeedAsync(BenchEnvironment env, TableClient mailboxes, MailAddress user, int from, int to, Dictionary<string, object?> summary)
    {
        if (from < BulkAbove)
            from = await SeedAsync(mailboxes, user, from, BulkAbove, summary);
        var partition = TableMailboxUsage.Partition(user);
        var folderRow = (await mailboxes.GetEntityAsync<TableEntity>(partition, MailboxKeys.FolderRow("INBOX"))).Value;
        long firstUid = folderRow.GetInt64("UidNext") ?? 1;
        // Templates: UID 1 and its de-dup row, written by SeedAsync through the API (UID 1 is never expunged here).
        string message = MailboxKeys.MessageRow("INBOX", 1), dedup = MailboxKeys.DedupRow("INBOX", "seed-1");
        var rows = new List<AzuriteBulkSeed.Row>();
        for (long uid = firstUid; uid < firstUid + (to - from); uid++)
        {
            rows.Add(new(message, MailboxKeys.MessageRow("INBOX", uid), new Dictionary<string, object> { ["Uid"] = uid, ["MessageId"] = $"seed-{uid}", ["Flags"] = string.Empty, ["ModSeq"] = 1L }));
            rows.Add(new(dedup, MailboxKeys.DedupRow("INBOX", $"seed-{uid}"), new Dictionary<string, object> { ["Uid"] = uid }));
        }
        await AzuriteBulkSeed.CopyAsync(env.Azurite, StorageNames.MailboxTable, rows);
        await CountInAsync(mailboxes, folderRow, firstUid, to - from);
        return to;
    }

    /// <summary>Message and de-duplication rows straight into the table (50 per transaction, 8 in flight), then the counters.</summary>
    internal static async Task<int> SeedAsync(TableClient mailboxes, MailAddress user, int from, int to, Dictionary<string, object?> summary, Func<long, Dictionary<string, object?>>? perMessage = null)
    {
        var partition = TableMailboxUsage.Partition(user);
        var now = DateTimeOffset.UtcNow;
        var folderRow = (await mailboxes.GetEntityAsync<TableEntity>(partition, MailboxKeys.FolderRow("INBOX"))).Value;
        long firstUid = folderRow.GetInt64("UidNext") ?? 1;
        var uids = Enumerable.Range(0, to - from).Select(i => firstUid + i).ToList();
        await Parallel.ForEachAsync(uids.Chunk(50), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (chunk, ct) =>
        {
            var actions = new List<TableTransactionAction>();
            foreach (var uid in chunk)
            {
                var e = new TableEntity(partition, MailboxKeys.MessageRow("INBOX", uid));
                foreach (var (k, v) in perMessage?.Invoke(uid) ?? summary)
                    e[k] = v;
                e["Uid"] = uid;
                e["MessageId"] = $"seed-{uid}";
                e["Blob"] = "bench/none";
                e["Size"] = 100L;
                e["InternalDate"] = now;
                e["Flags"] = string.Empty;
                e["ModSeq"] = 1L;
                actions.Add(new(TableTransactionActionType.Add, e));
                actions.Add(new(TableTransactionActionType.Add, new TableEntity(partition, MailboxKeys.DedupRow("INBOX", $"seed-{uid}")) { ["Uid"] = uid, ["UidValidity"] = folderRow.GetInt64("UidValidity") }));
            }
            await mailboxes.SubmitTransactionAsync(actions, ct);
        });
        await CountInAsync(mailboxes, folderRow, firstUid, to - from);
        return to;
    }

    /// <summary>The folder row counts the seeded messages (all unseen) and moves UIDNEXT past them.</summary>
    private static async Task CountInAsync(TableClient mailboxes, TableEntity folderRow, long firstUid, int added)
    {
        folderRow["UidNext"] = firstUid + added;
        folderRow["Exists"] = (folderRow.GetInt32("Exists") ?? 0) + added;
        folderRow["Unseen"] = (folderRow.GetInt32("Unseen") ?? 0) + added;
        folderRow["HighestModSeq"] = (folderRow.GetInt64("HighestModSeq") ?? 0) + 1;
        await mailboxes.UpdateEntityAsync(folderRow, folderRow.ETag, TableUpdateMode.Replace);
    }
}
