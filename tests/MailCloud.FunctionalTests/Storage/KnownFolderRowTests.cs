using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>
/// An add commits on the folder row its writer's previous add left (its ETag from the transaction's response) instead
/// of reading the row again. The row is only a guess: whatever anyone else did to the folder meanwhile — a flag
/// change or an add by another host, the folder deleted and made again — must fail the guess and leave the folder
/// exactly as an add that read the row would have. Real Azurite; every folder compared to a fresh store's read.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class KnownFolderRowTests(AzuriteFixture azurite)
{
    private static MailboxEntry Entry(string id, string flags = "") => new(id, "test/" + id, 10, DateTimeOffset.UtcNow, flags, new Dictionary<string, object?> { ["Subject"] = id });

    /// <summary>A clock the test moves: the remembered rows' age is read from its timestamps.</summary>
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;
        public override DateTimeOffset GetUtcNow() => Now;
        public override long GetTimestamp() => Now.UtcTicks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }

    private async Task<(StorageAccount Account, MailAddress User)> NewAsync()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var user = MailAddress.Parse($"{AzuriteFixture.UniqueName("known")}@example.test");
        await new MailboxStore(account).EnsureDefaultFoldersAsync(user);
        return (account, user);
    }

    private static Dictionary<string, long> Requests(StorageAccount account) => account.RequestCounter.Snapshot().ToDictionary(p => p.Key, p => p.Value);

    /// <summary>The folder as a store that never saw any of it reads it: counters, and every message's UID in order.</summary>
    private static async Task<(FolderInfo Folder, List<long> Uids)> ReadBackAsync(StorageAccount account, MailAddress user, string folder)
    {
        var store = new MailboxStore(account);
        var info = (await store.GetFolderAsync(user, folder))!;
        var snapshot = await store.OpenAsync(user, folder);
        return (info, snapshot.Messages.Select(m => m.Uid).ToList());
    }

    [Fact]
    public async Task The_next_add_commits_on_the_row_the_last_one_left_without_reading_it()
    {
        var (account, user) = await NewAsync();
        var writer = new MailboxStore(account).Writer;
        await writer.AddAsync(user, "INBOX", [Entry("a")], createFolder: false, CancellationToken.None);

        account.RequestCounter.Reset();
        var b = Assert.Single(await writer.AddAsync(user, "INBOX", [Entry("b", MessageFlags.Seen)], createFolder: false, CancellationToken.None));
        var c = Assert.Single(await writer.AddAsync(user, "INBOX", [Entry("c")], createFolder: false, CancellationToken.None));
        var requests = Requests(account);
        // Two adds: per add the blob reference and the transaction, and no read of the folder row.
        Assert.Equal(0, requests.GetValueOrDefault("table.GetEntity"));
        Assert.Equal(2, requests.GetValueOrDefault("table.EntityGroupTransaction"));
        Assert.Equal(4, account.RequestCounter.Total);
        Assert.Equal(2, writer.KnownRowHits);
        Assert.Equal(0, writer.KnownRowMisses);

        Assert.Equal((2L, 3L), (b.Uid, c.Uid));
        var (folder, uids) = await ReadBackAsync(account, user, "INBOX");
        Assert.Equal([1L, 2L, 3L], uids);
        Assert.Equal((3, 2, 4L, 30L), (folder.Exists, folder.Unseen, folder.UidNext, folder.Bytes));
        Assert.Equal(3, folder.HighestModSeq); // one MODSEQ per add, each above the one before
        Assert.Equal(3, (await new MailboxStore(account).GetUsageAsync(user)).Messages);

        // The change log the guessed row carried on is the real one: a session at MODSEQ 1 learns exactly 2 and 3.
        var since = await new MailboxStore(account).ReadChangeLogAsync(user, folder, 1);
        Assert.NotNull(since);
        Assert.Equal([2L, 3L], since.Changed.Select(m => m.Uid).Order());
    }

    [Fact]
    public async Task A_change_by_another_host_in_between_fails_the_guess_and_the_add_lands_as_if_it_had_read_the_row()
    {
        var (account, user) = await NewAsync();
        var writer = new MailboxStore(account).Writer;
        var otherHost = new MailboxStore(account);
        await writer.AddAsync(user, "INBOX", [Entry("a"), Entry("b")], createFolder: false, CancellationToken.None);

        // A flag change (the folder row's MODSEQ and UNSEEN move) and an add through another host's writer.
        await otherHost.UpdateFlagsAsync(user, "INBOX", [1], FlagEdit.Add(MessageFlags.Seen));
        await otherHost.AddAsync(user, "INBOX", [Entry("x")], createFolder: false);

        account.RequestCounter.Reset();
        var added = Assert.Single(await writer.AddAsync(user, "INBOX", [Entry("c")], createFolder: false, CancellationToken.None));
        var requests = Requests(account);
        // The failed guess, the read it costs, and the transaction that lands.
        Assert.Equal(2, requests.GetValueOrDefault("table.EntityGroupTransaction"));
        Assert.Equal(1, requests.GetValueOrDefault("table.GetEntity"));
        Assert.Equal(1, writer.KnownRowMisses);

        Assert.Equal(4, added.Uid); // after the other host's 3, never on top of it
        var (folder, uids) = await ReadBackAsync(account, user, "INBOX");
        Assert.Equal([1L, 2L, 3L, 4L], uids);
        Assert.Equal((4, 3, 5L), (folder.Exists, folder.Unseen, folder.UidNext));
        Assert.Equal(4, folder.HighestModSeq); // add 1-2, flag, add 3, add 4
    }

    [Fact]
    public async Task A_flag_change_or_expunge_through_the_same_store_makes_the_next_add_read_the_row_without_a_failed_guess()
    {
        var (account, user) = await NewAsync();
        var store = new MailboxStore(account);
        await store.AddAsync(user, "INBOX", [Entry("a"), Entry("b")], createFolder: false);

        foreach (var change in new Func<Task>[]
        {
            () => store.UpdateFlagsAsync(user, "INBOX", [1], FlagEdit.Add(MessageFlags.Seen)),
            () => store.ExpungeAsync(user, "INBOX", [new MailboxMessage(2, 10, "test/b", "b", string.Empty)]),
        })
        {
            await change();
            account.RequestCounter.Reset();
            await store.AddAsync(user, "INBOX", [Entry(AzuriteFixture.UniqueName("n"))], createFolder: false);
            Assert.Equal(1, Requests(account).GetValueOrDefault("table.GetEntity")); // the row, read: the store forgot the one it had
            Assert.Equal(1, Requests(account).GetValueOrDefault("table.EntityGroupTransaction")); // and no failed guess first
        }
        Assert.Equal(0, store.Writer.KnownRowMisses);
        var (folder, uids) = await ReadBackAsync(account, user, "INBOX");
        Assert.Equal([1L, 3L, 4L], uids);
        Assert.Equal((3, 2), (folder.Exists, folder.Unseen));
    }

    [Fact]
    public async Task A_folder_deleted_meanwhile_is_not_added_to_and_one_made_again_gets_the_add_with_its_own_uids()
    {
        var (account, user) = await NewAsync();
        var writer = new MailboxStore(account).Writer;
        var otherHost = new MailboxStore(account);
        await otherHost.CreateFolderAsync(user, "Lists");
        await writer.AddAsync(user, "Lists", [Entry("a"), Entry("b")], createFolder: false, CancellationToken.None);
        var before = (await otherHost.GetFolderAsync(user, "Lists"))!;

        await otherHost.DeleteFolderAsync(user, "Lists");
        var c = Entry(AzuriteFixture.UniqueName("c")); // the account's blob references are shared by every test
        await Assert.ThrowsAsync<FolderNotFoundException>(() => writer.AddAsync(user, "Lists", [c], createFolder: false, CancellationToken.None));
        Assert.Null(await otherHost.GetFolderAsync(user, "Lists"));
        Assert.False(await new SpoolMaintenance(account).IsReferencedAsync(c.Blob)); // nothing added: no reference left either
        Assert.Equal(1, writer.KnownRowMisses);

        // Made again: a new UIDVALIDITY, and the next add is its UID 1, not 3 from the row remembered before.
        await otherHost.CreateFolderAsync(user, "Lists");
        var added = Assert.Single(await writer.AddAsync(user, "Lists", [Entry("e")], createFolder: false, CancellationToken.None));
        var (folder, uids) = await ReadBackAsync(account, user, "Lists");
        Assert.NotEqual(before.UidValidity, folder.UidValidity);
        Assert.Equal((1L, folder.UidValidity), (added.Uid, added.UidValidity));
        Assert.Equal([1L], uids);
        Assert.Equal((1, 2L), (folder.Exists, folder.UidNext));
    }

    [Fact]
    public async Task A_row_remembered_longer_than_its_keep_is_read_again()
    {
        var (account, user) = await NewAsync();
        var time = new ManualTime();
        var writer = new MailboxStore(account, time).Writer;
        await writer.AddAsync(user, "INBOX", [Entry("a")], createFolder: false, CancellationToken.None);

        time.Now += KnownFolderRowsKeep + TimeSpan.FromSeconds(1);
        account.RequestCounter.Reset();
        await writer.AddAsync(user, "INBOX", [Entry("b")], createFolder: false, CancellationToken.None);
        Assert.Equal(1, Requests(account).GetValueOrDefault("table.GetEntity"));
        Assert.Equal(1, Requests(account).GetValueOrDefault("table.EntityGroupTransaction"));
        Assert.Equal((0L, 0L), (writer.KnownRowHits, writer.KnownRowMisses));

        // The row that add left is fresh again.
        account.RequestCounter.Reset();
        await writer.AddAsync(user, "INBOX", [Entry("c")], createFolder: false, CancellationToken.None);
        Assert.Equal(0, Requests(account).GetValueOrDefault("table.GetEntity"));
        Assert.Equal([1L, 2L, 3L], (await ReadBackAsync(account, user, "INBOX")).Uids);
    }

    [Fact]
    public async Task Two_hosts_adding_to_one_folder_at_once_give_every_message_one_uid_and_exact_counters()
    {
        var (account, user) = await NewAsync();
        var writers = new[] { new MailboxStore(account).Writer, new MailboxStore(account).Writer };
        // Each host adds 15 one after another, both at once: each one's remembered row is stale whenever the
        // other got in between.
        var results = await Task.WhenAll(writers.Select((w, h) => Task.Run(async () =>
        {
            var uids = new List<long>();
            for (int i = 0; i < 15; i++)
                uids.Add(Assert.Single(await w.AddAsync(user, "INBOX", [Entry($"h{h}-{i}")], createFolder: false, CancellationToken.None)).Uid);
            return uids;
        })));
        var all = results.SelectMany(u => u).Order().ToList();
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), all);
        var (folder, uids) = await ReadBackAsync(account, user, "INBOX");
        Assert.Equal(all, uids);
        Assert.Equal((30, 30, 31L, 300L, 30L), (folder.Exists, folder.Unseen, folder.UidNext, folder.Bytes, folder.HighestModSeq));

        // A repeated add of one of them still adds nothing, guessed row or not.
        var again = Assert.Single(await writers[0].AddAsync(user, "INBOX", [Entry("h1-3")], createFolder: false, CancellationToken.None));
        Assert.True(again.AlreadyThere);
        Assert.Equal(30, (await ReadBackAsync(account, user, "INBOX")).Folder.Exists);
    }

    private static readonly TimeSpan KnownFolderRowsKeep = TimeSpan.FromSeconds(30);
}
