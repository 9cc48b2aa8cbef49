using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>
/// The mailbox table on Azurite: flag changes and expunges on many messages go in transactions of up to 100 rows,
/// a repeated delivery adds nothing, and catching up from a MODSEQ reads the change log and the rows it names — not
/// the whole folder. Request counts are asserted because they are what Azure bills and what must not grow with the
/// mailbox (tests/bench/mailbox-scaling.sh measures them at 100, 10,000 and 100,000 messages).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class MailboxStoreScalingTests(AzuriteFixture azurite)
{
    private static MailboxEntry Entry(string id, string flags = "") => new(id, "test/" + id, 10, DateTimeOffset.UtcNow, flags, new Dictionary<string, object?> { ["Subject"] = id });

    private async Task<(MailboxStore Store, StorageAccount Account, MailAddress User)> NewAsync(int messages, string flags = "")
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var user = MailAddress.Parse($"{AzuriteFixture.UniqueName("scale")}@example.test");
        var store = new MailboxStore(account);
        await store.AddAsync(user, "INBOX", Enumerable.Range(1, messages).Select(i => Entry($"m{i}", flags)).ToList(), createFolder: true);
        return (store, account, user);
    }

    private static long Count(StorageAccount account, string operation) => account.RequestCounter.Snapshot().GetValueOrDefault(operation);

    [Fact]
    public async Task A_store_on_scattered_messages_takes_a_transaction_per_99_and_the_counters_stay_exact()
    {
        var (store, account, user) = await NewAsync(250);
        account.RequestCounter.Reset();
        // Every other message: no two named ones are next to each other, so no run; rows are written.
        var odd = Enumerable.Range(1, 250).Where(i => i % 2 == 1).Select(i => (long)i).ToList();
        var result = await store.UpdateFlagsAsync(user, "INBOX", odd, FlagEdit.Add(MessageFlags.Seen));
        Assert.Equal(125, result.Changed.Count);
        Assert.Equal(2, Count(account, "table.EntityGroupTransaction")); // 99 + 26 messages
        Assert.Equal(1, Count(account, "table.GetEntity")); // the folder row, once: the transactions follow its ETag
        Assert.Equal(2, result.Steps.Count);
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal(125, folder.Unseen);
        Assert.Equal(result.Steps[^1].After, folder.HighestModSeq);
        Assert.Empty(folder.Runs);

        account.RequestCounter.Reset();
        var removed = await store.ExpungeAsync(user, "INBOX", Enumerable.Range(1, 100).Select(i => new MailboxMessage(i, 0, string.Empty, string.Empty, string.Empty)).ToList());
        Assert.Equal(100, removed.Count);
        Assert.Equal(3, Count(account, "table.EntityGroupTransaction")); // 49 + 49 + 2
        folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal(150, folder.Exists);
        Assert.Equal(75, folder.Unseen);
        Assert.Equal((150L * 10, 150), await store.GetUsageAsync(user));
    }

    [Fact]
    public async Task A_store_on_a_long_stretch_is_one_write_of_the_folder_row_and_every_reader_sees_it()
    {
        var (store, account, user) = await NewAsync(300);
        await store.ExpungeAsync(user, "INBOX", [new MailboxMessage(150, 0, string.Empty, string.Empty, string.Empty)]);
        await store.UpdateFlagsAsync(user, "INBOX", [7], FlagEdit.Add(MessageFlags.Seen)); // already seen: no change, no new MODSEQ for it
        var before = (await store.GetFolderAsync(user, "INBOX"))!;

        // 1:* as a session sees it, but without 200 (say its client skipped it): stretches 1-199 (150 is gone, so
        // nothing lies between 149 and 151) and 201-300.
        var named = Enumerable.Range(1, 300).Where(i => i is not 150 and not 200).Select(i => (long)i).ToList();
        account.RequestCounter.Reset();
        var result = await store.UpdateFlagsAsync(user, "INBOX", named, FlagEdit.Add(MessageFlags.Seen));
        Assert.Equal(0, Count(account, "table.EntityGroupTransaction"));
        Assert.Equal(1, Count(account, "table.MergeEntity"));
        Assert.Equal(297, result.Changed.Count); // 298 named, 7 already seen
        Assert.Single(result.Steps);
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal([(1L, 199L), (201L, 300L)], folder.Runs.Select(r => (r.FirstUid, r.LastUid)));
        Assert.Equal(1, folder.Unseen); // 200
        var modSeq = result.Steps[0].After;
        Assert.Equal(modSeq, folder.HighestModSeq);

        // A new store instance (another host): the rows compose with the runs wherever they are read.
        var other = new MailboxStore(account);
        var opened = await other.OpenAsync(user, "INBOX");
        Assert.Equal(299, opened.Messages.Count);
        Assert.All(opened.Messages.Where(m => m.Uid != 200), m => Assert.Equal(MessageFlags.Seen, m.Flags));
        Assert.Equal(string.Empty, opened.Messages.Single(m => m.Uid == 200).Flags);
        Assert.Equal(before.HighestModSeq, opened.Messages.Single(m => m.Uid == 7).ModSeq); // its own earlier change, untouched
        Assert.Equal(modSeq, opened.Messages.Single(m => m.Uid == 8).ModSeq);
        var since = await other.ChangedSinceAsync(user, "INBOX", before.HighestModSeq);
        Assert.Equal(297, since.Count);
        Assert.DoesNotContain(since, m => m.Uid is 7 or 200);
        var log = (await other.ReadChangeLogAsync(user, folder, before.HighestModSeq))!;
        Assert.Equal(297, log.Changed.Count);
        Assert.All(log.Changed, m => Assert.Equal((MessageFlags.Seen, modSeq), (m.Flags, m.ModSeq)));
        await foreach (var row in other.QueryMessagesAsync(user, "INBOX", 195, 205, MessageDetail.Listing))
            Assert.Equal(row.Uid == 200 ? string.Empty : MessageFlags.Seen, row.Flags);
        Assert.Equal(MessageFlags.Seen, (await other.GetMessageAsync(user, "INBOX", 3, MessageDetail.Copy))!.Flags);

        // A later single-message change writes the composed flags into the row; the run no longer applies to it.
        await other.UpdateFlagsAsync(user, "INBOX", [10], FlagEdit.Add("\\Flagged"));
        await other.UpdateFlagsAsync(user, "INBOX", [11], FlagEdit.Remove(MessageFlags.Seen));
        opened = await store.OpenAsync(user, "INBOX");
        Assert.Equal("\\Flagged \\Seen", opened.Messages.Single(m => m.Uid == 10).Flags);
        Assert.Equal(string.Empty, opened.Messages.Single(m => m.Uid == 11).Flags);
        Assert.Equal(2, (await store.GetFolderAsync(user, "INBOX"))!.Unseen);

        // Expunge counts what the runs made seen; a rename carries the composed flags to the new folder's rows.
        await store.ExpungeAsync(user, "INBOX", opened.Messages.Where(m => m.Uid is 11 or 12 or 13).ToList());
        Assert.Equal(1, (await store.GetFolderAsync(user, "INBOX"))!.Unseen);
        await store.RenameFolderAsync(user, "INBOX", "Archive");
        var archive = await store.OpenAsync(user, "Archive");
        Assert.Equal(296, archive.Messages.Count);
        Assert.Equal(295, archive.Messages.Count(m => m.Flags.Contains(MessageFlags.Seen, StringComparison.Ordinal)));
        Assert.Equal(1, (await store.GetFolderAsync(user, "Archive"))!.Unseen);
        Assert.Empty((await store.GetFolderAsync(user, "Archive"))!.Runs);
    }

    [Fact]
    public async Task At_the_limit_a_store_folds_the_oldest_run_into_its_rows_first_and_nothing_visible_changes()
    {
        var (_, account, user) = await NewAsync(FlagRuns.MinimumLength, MessageFlags.Seen);
        var store = new MailboxStore(account) { MaxFlagRuns = 8, FoldFlagRunsAbove = 8 };
        var all = Enumerable.Range(1, FlagRuns.MinimumLength).Select(i => (long)i).ToList();
        // The first run takes \Seen away; then alternating +$Bulk / -$Bulk, each a run; the ninth store folds the first,
        // and must see the rows as the fold left them (unseen), not as it read them before.
        await store.UpdateFlagsAsync(user, "INBOX", all, FlagEdit.Remove(MessageFlags.Seen));
        for (int i = 1; i < store.MaxFlagRuns; i++)
            await store.UpdateFlagsAsync(user, "INBOX", all, i % 2 == 1 ? FlagEdit.Add("$Bulk") : FlagEdit.Remove("$Bulk"));
        var full = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal(store.MaxFlagRuns, full.Runs.Count);
        Assert.Equal(FlagRuns.MinimumLength, full.Unseen);
        var seenBefore = await store.OpenAsync(user, "INBOX");
        Assert.All(seenBefore.Messages, m => Assert.Equal(("$Bulk", full.HighestModSeq), (m.Flags, m.ModSeq)));

        account.RequestCounter.Reset();
        var result = await store.UpdateFlagsAsync(user, "INBOX", all, FlagEdit.Add(MessageFlags.Seen));
        Assert.Equal(FlagRuns.MinimumLength, result.Changed.Count);
        Assert.Equal(1, Count(account, "table.EntityGroupTransaction")); // the fold: the first run's 64 rows
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal(store.MaxFlagRuns, folder.Runs.Count);
        Assert.Equal(full.Runs[1].ModSeq, folder.Runs[0].ModSeq);
        Assert.Equal(0, folder.Unseen);
        var opened = await new MailboxStore(account).OpenAsync(user, "INBOX");
        Assert.All(opened.Messages, m => Assert.Equal(("$Bulk \\Seen", result.Steps[0].After), (m.Flags, m.ModSeq)));
    }

    [Fact]
    public async Task Beyond_the_mark_old_runs_are_folded_in_the_background_while_readers_see_the_same_flags()
    {
        var (_, account, user) = await NewAsync(200);
        var store = new MailboxStore(account) { FoldFlagRunsAbove = 2 };
        var reader = new MailboxStore(account);
        // Overlapping stretches with different edits, so the order of folding matters.
        (int First, int Last, FlagEdit Edit)[] stores =
        [
            (1, 150, FlagEdit.Add(MessageFlags.Seen)), (51, 200, FlagEdit.Add("$A")), (1, 100, FlagEdit.Remove(MessageFlags.Seen)),
            (80, 200, FlagEdit.Replace("\\Flagged")), (1, 120, FlagEdit.Add("$B")), (100, 200, FlagEdit.Remove("\\Flagged")),
        ];
        var expected = new Dictionary<long, (string, long)>();
        foreach (var (first, last, edit) in stores)
        {
            await store.UpdateFlagsAsync(user, "INBOX", Enumerable.Range(first, last - first + 1).Select(i => (long)i).ToList(), edit);
            // What a reader sees while folds run is what it saw without them.
            var seen = await reader.OpenAsync(user, "INBOX");
            foreach (var m in seen.Messages.Where(m => m.Uid % 37 == 0))
                Assert.Equal(MessageFlags.Format(MessageFlags.Parse(m.Flags)), m.Flags);
        }
        var composed = (await reader.OpenAsync(user, "INBOX")).Messages.ToDictionary(m => m.Uid, m => (m.Flags, m.ModSeq));
        var unseen = (await reader.GetFolderAsync(user, "INBOX"))!.Unseen;
        await store.FoldsIdleAsync();
        var folder = (await reader.GetFolderAsync(user, "INBOX"))!;
        Assert.True(folder.Runs.Count <= 3, $"{folder.Runs.Count} runs left");
        Assert.Equal(unseen, folder.Unseen);
        var after = (await reader.OpenAsync(user, "INBOX")).Messages.ToDictionary(m => m.Uid, m => (m.Flags, m.ModSeq));
        Assert.Equal(composed, after);
        Assert.Equal("$B \\Flagged", after[90].Flags); // -Seen, +$A, =Flagged, +$B; not 100-200's -Flagged
        Assert.Equal(string.Empty, after[160].Flags); // +$A, =Flagged, -Flagged
        Assert.Equal("$B", after[30].Flags); // +Seen, -Seen, +$B
        Assert.Equal(composed.Count(kv => !MessageFlags.Has(kv.Value.Flags, MessageFlags.Seen)), folder.Unseen);
    }

    [Fact]
    public async Task Concurrent_stores_and_deliveries_keep_unseen_equal_to_the_messages_without_seen()
    {
        var (store, account, user) = await NewAsync(200);
        var all = Enumerable.Range(1, 200).Select(i => (long)i).ToList();
        var work = new List<Task>();
        for (int i = 0; i < 12; i++)
        {
            var mine = new MailboxStore(account); // separate hosts, racing on the folder row
            int n = i;
            work.Add(Task.Run(async () =>
            {
                if (n % 4 == 3)
                    await mine.AddAsync(user, "INBOX", [Entry($"late{n}")], createFolder: false);
                else if (n % 2 == 0)
                    await mine.UpdateFlagsAsync(user, "INBOX", all, n % 3 == 0 ? FlagEdit.Remove(MessageFlags.Seen) : FlagEdit.Add(MessageFlags.Seen));
                else
                    await mine.UpdateFlagsAsync(user, "INBOX", [(long)(n * 7), (long)(n * 7 + 2)], FlagEdit.Add(MessageFlags.Seen));
            }));
        }
        await Task.WhenAll(work);
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        var opened = await store.OpenAsync(user, "INBOX");
        Assert.Equal(203, opened.Messages.Count);
        Assert.Equal(opened.Messages.Count(m => !MessageFlags.Has(m.Flags, MessageFlags.Seen)), folder.Unseen);
        Assert.Equal(opened.Messages.Max(m => m.ModSeq), folder.HighestModSeq);
    }

    [Fact]
    public async Task A_folder_of_thousands_is_read_as_parallel_uid_ranges_and_one_store_covers_all_of_it()
    {
        var (store, account, user) = await NewAsync(2100);
        await store.ExpungeAsync(user, "INBOX", new long[] { 1000, 1001, 2000 }.Select(u => new MailboxMessage(u, 0, string.Empty, string.Empty, string.Empty)).ToList());
        account.RequestCounter.Reset();
        var opened = await new MailboxStore(account).OpenAsync(user, "INBOX");
        Assert.Equal(2097, opened.Messages.Count);
        Assert.Equal(Enumerable.Range(1, 2100).Where(i => i is not 1000 and not 1001 and not 2000).Select(i => (long)i), opened.Messages.Select(m => m.Uid));
        Assert.Equal(1, Count(account, "table.GetEntity"));
        Assert.Equal(3, Count(account, "table.QueryEntities")); // three UID ranges of about 700, read together

        account.RequestCounter.Reset();
        var result = await store.UpdateFlagsAsync(user, "INBOX", opened.Messages.Select(m => m.Uid).ToList(), FlagEdit.Add(MessageFlags.Seen));
        Assert.Equal(2097, result.Changed.Count);
        Assert.Equal(3, Count(account, "table.QueryEntities")); // UIDs 1-1000, 1001-2000, 2001-2100
        Assert.Equal(1, Count(account, "table.MergeEntity"));
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal((1L, 2100L), (folder.Runs.Single().FirstUid, folder.Runs.Single().LastUid)); // the expunged UIDs hold no row: one stretch
        Assert.Equal(0, folder.Unseen);
    }

    [Fact]
    public async Task A_search_after_fetching_summaries_reads_nothing_more()
    {
        var (store, account, user) = await NewAsync(20);
        var cache = new CachedMailboxStore(store);
        await cache.OpenAsync(user, "INBOX");
        await foreach (var row in cache.QueryMessagesAsync(user, "INBOX", 1, 20, MessageDetail.Summary))
            Assert.Equal($"m{row.Uid}", row.Subject); // the summary columns carry the search columns from the table
        account.RequestCounter.Reset();
        var subjects = new List<string?>();
        await foreach (var row in cache.QueryMessagesAsync(user, "INBOX", 1, 20, MessageDetail.Search))
            subjects.Add(row.Subject);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"m{i}"), subjects);
        Assert.DoesNotContain(account.RequestCounter.Snapshot(), c => c.Value > 0);
    }

    [Fact]
    public async Task A_small_folder_is_opened_with_its_summaries_and_a_large_one_reads_them_when_asked()
    {
        var (store, account, user) = await NewAsync(1200);
        await store.UpdateFlagsAsync(user, "INBOX", [7], FlagEdit.Add(MessageFlags.Seen));
        // SummariesUpTo = budget / 8 / 2 KiB: 1,200 fits this cache, not the small one.
        var cache = new CachedMailboxStore(store, budgetBytes: 8L * 2048 * 1500);
        var small = new CachedMailboxStore(store, budgetBytes: 8L * 2048 * 1000);
        Assert.Equal(1500, cache.SummariesUpTo);

        account.RequestCounter.Reset();
        var opened = await cache.OpenAsync(user, "INBOX");
        Assert.Equal(1200, opened.Messages.Count);
        Assert.Equal(MessageFlags.Seen, opened.Messages.Single(m => m.Uid == 7).Flags);
        Assert.Equal(2, Count(account, "table.QueryEntities")); // the same two UID ranges as without summaries
        account.RequestCounter.Reset();
        var rows = new List<MessageDetails>();
        await foreach (var row in cache.QueryMessagesAsync(user, "INBOX", 1, 1200, MessageDetail.Summary))
            rows.Add(row);
        Assert.Equal(Enumerable.Range(1, 1200).Select(i => $"m{i}"), rows.Select(r => r.Subject));
        Assert.All(rows, r => Assert.Equal(string.Empty, r.Flags)); // a kept summary carries no flags, which change
        Assert.Equal(0, account.RequestCounter.Total);

        await small.OpenAsync(user, "INBOX");
        account.RequestCounter.Reset();
        var counted = 0;
        await foreach (var row in small.QueryMessagesAsync(user, "INBOX", 1, 1200, MessageDetail.Summary))
            counted++;
        Assert.Equal(1200, counted);
        Assert.Equal(2, Count(account, "table.QueryEntities")); // read now: 1,000 rows per page
    }

    [Fact]
    public async Task Messages_with_large_summaries_are_added_in_transactions_under_the_payload_limit()
    {
        var (store, account, user) = await NewAsync(1);
        var big = new string('s', 32_000);
        var entries = Enumerable.Range(1, 49).Select(i => new MailboxEntry($"big{i}", "test/big", 10, DateTimeOffset.UtcNow, string.Empty,
            new Dictionary<string, object?> { ["Envelope"] = big, ["BodyStructure"] = big, ["Body"] = big })).ToList();
        account.RequestCounter.Reset();
        var added = await store.AddAsync(user, "INBOX", entries, createFolder: false);
        Assert.Equal(49, added.Count(a => !a.AlreadyThere));
        // 49 x about 190 KiB would be 9 MiB in one transaction; Azure refuses more than 4 MiB.
        Assert.Equal(4, Count(account, "table.EntityGroupTransaction"));
        Assert.Equal(50, (await store.GetFolderAsync(user, "INBOX"))!.Exists);
    }

    [Fact]
    public async Task A_repeated_delivery_adds_nothing_and_reads_no_more_than_it_must()
    {
        var (store, account, user) = await NewAsync(3);
        account.RequestCounter.Reset();
        var again = await store.AddAsync(user, "INBOX", [Entry("m2")], createFolder: true);
        Assert.True(again[0].AlreadyThere);
        Assert.Equal(2, again[0].Uid);
        Assert.Equal(0, Count(account, "table.QueryEntities")); // point reads only, never a scan of the mailbox
        Assert.Equal(3, (await store.GetFolderAsync(user, "INBOX"))!.Exists);
    }

    [Fact]
    public async Task Catching_up_reads_the_change_log_not_the_folder()
    {
        var (store, account, user) = await NewAsync(60);
        var before = (await store.GetFolderAsync(user, "INBOX"))!;
        await store.UpdateFlagsAsync(user, "INBOX", [5, 7], FlagEdit.Add("\\Flagged"));
        await store.ExpungeAsync(user, "INBOX", [new MailboxMessage(9, 0, string.Empty, string.Empty, string.Empty)]);
        await store.AddAsync(user, "INBOX", [Entry("late")], createFolder: false);
        var now = (await store.GetFolderAsync(user, "INBOX"))!;

        account.RequestCounter.Reset();
        var log = await store.ReadChangeLogAsync(user, now, before.HighestModSeq);
        Assert.NotNull(log);
        Assert.Equal([5L, 7L, 61L], log.Changed.Select(m => m.Uid));
        Assert.Equal("\\Flagged", log.Changed[0].Flags);
        Assert.Equal([9L], log.Expunged);
        // The log came with the folder row; of the rows it names, 5 and 7 are near enough for one range read, 61 a point read.
        Assert.Equal(1, Count(account, "table.QueryEntities"));
        Assert.Equal(1, Count(account, "table.GetEntity"));

        // Further back than the log reaches (here: before a change made without it, as by mailboxes indexed before
        // the log existed): null, and the caller reads the folder the old way.
        Assert.NotNull(await store.ReadChangeLogAsync(user, now, 0));
        var mailboxes = account.Tables.GetTableClient(StorageNames.MailboxTable);
        var row = (await mailboxes.GetEntityAsync<Azure.Data.Tables.TableEntity>(TableMailboxUsage.Partition(user), MailboxKeys.FolderRow("INBOX"))).Value;
        row["HighestModSeq"] = now.HighestModSeq + 1;
        await mailboxes.UpdateEntityAsync(row, row.ETag);
        var bumped = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Null(await store.ReadChangeLogAsync(user, bumped, before.HighestModSeq));
        Assert.Empty((await store.ReadChangeLogAsync(user, bumped, bumped.HighestModSeq))!.Changed);
    }
}
