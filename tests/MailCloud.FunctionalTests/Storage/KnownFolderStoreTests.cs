using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>
/// A long STORE through a host's folder cache takes the flags from the cached folder instead of reading the rows
/// (two requests however large the folder), but only while the folder row says the cache is current: a change by
/// another host in between, or UIDs the run does not cover, send it back to reading the rows. Real Azurite; the
/// answers are checked against an uncached read of the table.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class KnownFolderStoreTests(AzuriteFixture azurite)
{
    private static MailboxEntry Entry(string id) => new(id, "test/" + id, 10, DateTimeOffset.UtcNow, string.Empty, new Dictionary<string, object?> { ["Subject"] = id });

    private async Task<(MailboxStore Store, StorageAccount Account, MailAddress User)> NewAsync(int messages)
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var user = MailAddress.Parse($"{AzuriteFixture.UniqueName("known")}@example.test");
        var store = new MailboxStore(account);
        await store.AddAsync(user, "INBOX", Enumerable.Range(1, messages).Select(i => Entry($"m{i}")).ToList(), createFolder: true);
        return (store, account, user);
    }

    private static List<long> Uids(int first, int last) => Enumerable.Range(first, last - first + 1).Select(i => (long)i).ToList();

    private static async Task<Dictionary<long, string>> StoredFlagsAsync(MailboxStore store, MailAddress user) =>
        (await store.OpenAsync(user, "INBOX")).Messages.ToDictionary(m => m.Uid, m => m.Flags);

    [Fact]
    public async Task A_whole_folder_store_on_a_current_cache_reads_no_message_rows()
    {
        var (store, account, user) = await NewAsync(1500);
        var cache = new CachedMailboxStore(store);
        await store.UpdateFlagsAsync(user, "INBOX", [7], FlagEdit.Add(@"\Flagged"));
        await cache.OpenAsync(user, "INBOX");

        account.RequestCounter.Reset();
        var result = await cache.UpdateFlagsAsync(user, "INBOX", Uids(1, 1500), FlagEdit.Add(MessageFlags.Seen));
        var requests = account.RequestCounter.Snapshot();
        Assert.Equal(2, account.RequestCounter.Total); // the folder row, then the run written on it
        Assert.Equal(1, requests.GetValueOrDefault("table.GetEntity"));
        Assert.Equal(1, requests.GetValueOrDefault("table.MergeEntity"));
        Assert.Equal(1500, result.Changed.Count);
        Assert.Equal(@"\Flagged \Seen", result.Changed.Single(c => c.Uid == 7).Flags);

        var stored = await StoredFlagsAsync(store, user);
        Assert.All(stored, kv => Assert.Equal(kv.Key == 7 ? @"\Flagged \Seen" : @"\Seen", kv.Value));
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal(0, folder.Unseen);
        Assert.Equal(result.Steps[^1].After, folder.HighestModSeq);

        // The cache followed its own change: the next SELECT is the one folder-row read and agrees with the table.
        account.RequestCounter.Reset();
        var again = await cache.OpenAsync(user, "INBOX");
        Assert.Equal(1, account.RequestCounter.Total);
        Assert.Equal(stored, again.Messages.ToDictionary(m => m.Uid, m => m.Flags));
    }

    [Fact]
    public async Task A_change_by_another_host_since_the_cache_was_read_makes_the_store_read_the_rows()
    {
        var (store, account, user) = await NewAsync(200);
        var cache = new CachedMailboxStore(store);
        await cache.OpenAsync(user, "INBOX");
        // Another host (its own store, no cache) flags UID 5, expunges UID 9 and delivers UID 201.
        var other = new MailboxStore(account);
        await other.UpdateFlagsAsync(user, "INBOX", [5], FlagEdit.Add("$Other"));
        await other.ExpungeAsync(user, "INBOX", [new MailboxMessage(9, 0, string.Empty, string.Empty, string.Empty)]);
        await other.AddAsync(user, "INBOX", [Entry("late")], createFolder: false);

        account.RequestCounter.Reset();
        var result = await cache.UpdateFlagsAsync(user, "INBOX", Uids(1, 201), FlagEdit.Add(MessageFlags.Seen));
        Assert.True(account.RequestCounter.Snapshot().GetValueOrDefault("table.QueryEntities") >= 1); // the rows, read
        Assert.Equal(200, result.Changed.Count); // 201 named, 9 gone
        Assert.Equal(@"$Other \Seen", result.Changed.Single(c => c.Uid == 5).Flags);

        var stored = await StoredFlagsAsync(store, user);
        Assert.False(stored.ContainsKey(9));
        Assert.Equal(@"$Other \Seen", stored[5]);
        Assert.All(stored.Where(kv => kv.Key != 5), kv => Assert.Equal(@"\Seen", kv.Value));
        Assert.Equal(0, (await store.GetFolderAsync(user, "INBOX"))!.Unseen);
        Assert.Equal(stored, (await cache.OpenAsync(user, "INBOX")).Messages.ToDictionary(m => m.Uid, m => m.Flags));
    }

    [Fact]
    public async Task Uids_outside_the_run_are_still_read_and_written_under_their_own_etags()
    {
        var (store, account, user) = await NewAsync(300);
        var cache = new CachedMailboxStore(store);
        await cache.OpenAsync(user, "INBOX");

        // 1:100 is a run; 200 and 300 stand alone and are written as rows, which needs them read first.
        account.RequestCounter.Reset();
        var result = await cache.UpdateFlagsAsync(user, "INBOX", [.. Uids(1, 100), 200, 300], FlagEdit.Add(@"\Answered"));
        var requests = account.RequestCounter.Snapshot();
        Assert.Equal(0, requests.GetValueOrDefault("table.QueryEntities")); // the run's rows came from the cache
        Assert.Equal(1, requests.GetValueOrDefault("table.MergeEntity")); // the run on the folder row
        Assert.Equal(1, requests.GetValueOrDefault("table.EntityGroupTransaction")); // UIDs 200 and 300
        Assert.Equal(3, requests.GetValueOrDefault("table.GetEntity")); // folder row, UID 200, UID 300
        Assert.Equal(102, result.Changed.Count);

        var stored = await StoredFlagsAsync(store, user);
        Assert.All(stored, kv => Assert.Equal(kv.Key <= 100 || kv.Key is 200 or 300 ? @"\Answered" : string.Empty, kv.Value));
        Assert.Equal(stored, (await cache.OpenAsync(user, "INBOX")).Messages.ToDictionary(m => m.Uid, m => m.Flags));
    }

    [Fact]
    public async Task Uids_the_current_cache_lacks_are_expunged_and_cost_no_read()
    {
        var (store, account, user) = await NewAsync(1200);
        var cache = new CachedMailboxStore(store);
        await cache.OpenAsync(user, "INBOX");
        // Expunged through the cache (so it stays current); a session's older view still names 40 and 1100.
        await cache.ExpungeAsync(user, "INBOX", [new MailboxMessage(40, 0, string.Empty, string.Empty, string.Empty), new MailboxMessage(1100, 0, string.Empty, string.Empty, string.Empty)]);
        await cache.OpenAsync(user, "INBOX");

        account.RequestCounter.Reset();
        var result = await cache.UpdateFlagsAsync(user, "INBOX", Uids(1, 1200), FlagEdit.Add(MessageFlags.Seen));
        Assert.Equal(2, account.RequestCounter.Total); // the folder row and the run: no read of rows that are gone
        Assert.Equal(1198, result.Changed.Count);
        Assert.DoesNotContain(result.Changed, c => c.Uid is 40 or 1100);

        var stored = await StoredFlagsAsync(store, user);
        Assert.Equal(1198, stored.Count);
        Assert.All(stored, kv => Assert.Equal(@"\Seen", kv.Value));
    }
}
