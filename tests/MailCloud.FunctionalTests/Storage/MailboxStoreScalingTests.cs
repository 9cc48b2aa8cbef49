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
    private static MailboxEntry Entry(string id) => new(id, "test/" + id, 10, DateTimeOffset.UtcNow, string.Empty, new Dictionary<string, object?> { ["Subject"] = id });

    private async Task<(MailboxStore Store, StorageAccount Account, MailAddress User)> NewAsync(int messages)
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var user = MailAddress.Parse($"{AzuriteFixture.UniqueName("scale")}@example.test");
        var store = new MailboxStore(account);
        await store.AddAsync(user, "INBOX", Enumerable.Range(1, messages).Select(i => Entry($"m{i}")).ToList(), createFolder: true);
        return (store, account, user);
    }

    private static long Count(StorageAccount account, string operation) => account.RequestCounter.Snapshot().GetValueOrDefault(operation);

    [Fact]
    public async Task A_store_on_250_messages_takes_three_transactions_and_the_counters_stay_exact()
    {
        var (store, account, user) = await NewAsync(250);
        account.RequestCounter.Reset();
        var result = await store.UpdateFlagsAsync(user, "INBOX", Enumerable.Range(1, 250).Select(i => (long)i).ToList(), f => f.Add(MessageFlags.Seen));
        Assert.Equal(250, result.Changed.Count);
        Assert.Equal(3, Count(account, "table.EntityGroupTransaction")); // 99 + 99 + 52 messages
        Assert.Equal(1, Count(account, "table.GetEntity")); // the folder row, once: the transactions follow its ETag
        Assert.Equal(3, result.Steps.Count);
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal(0, folder.Unseen);
        Assert.Equal(result.Steps[^1].After, folder.HighestModSeq);

        account.RequestCounter.Reset();
        var removed = await store.ExpungeAsync(user, "INBOX", Enumerable.Range(1, 100).Select(i => new MailboxMessage(i, 0, string.Empty, string.Empty, string.Empty)).ToList());
        Assert.Equal(100, removed.Count);
        Assert.Equal(3, Count(account, "table.EntityGroupTransaction")); // 49 + 49 + 2
        folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal(150, folder.Exists);
        Assert.Equal((150L * 10, 150), await store.GetUsageAsync(user));
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
        await store.UpdateFlagsAsync(user, "INBOX", [5, 7], f => f.Add("\\Flagged"));
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
