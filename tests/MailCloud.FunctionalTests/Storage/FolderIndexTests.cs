using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>
/// Stored folder indexes on real Azurite: a host that has not got a large folder in memory opens it from the index
/// another host wrote (the folder row and one blob, no message rows), caught up with whatever changed since; a
/// damaged, foreign or missing index is never trusted over the rows. Every answer is checked against an uncached read
/// of the table.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class FolderIndexTests(AzuriteFixture azurite)
{
    private const int Messages = 120;

    private static MailboxEntry Entry(string id) => new(id, "test/" + id, 10, DateTimeOffset.UtcNow, string.Empty,
        new Dictionary<string, object?> { ["Subject"] = id, ["Envelope"] = $"(NIL \"{id}\" NIL NIL NIL NIL NIL NIL NIL NIL)", ["Header"] = System.Text.Encoding.ASCII.GetBytes($"Subject: {id}\r\n\r\n") });

    private async Task<(MailboxStore Store, StorageAccount Account, MailAddress User)> NewAsync()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var user = MailAddress.Parse($"{AzuriteFixture.UniqueName("index")}@example.test");
        var store = new MailboxStore(account);
        await store.AddAsync(user, "INBOX", Enumerable.Range(1, Messages).Select(i => Entry($"m{i}")).ToList(), createFolder: true);
        return (store, account, user);
    }

    /// <summary>A host's cache as the IMAP front end makes it, with indexes from 100 messages (the default is 500) written at once (not 5 s later).</summary>
    private static CachedMailboxStore Host(StorageAccount account) =>
        new(new MailboxStore(account), indexes: new BlobFolderIndexSnapshots(account)) { IndexFrom = 100, IndexWriteDelay = TimeSpan.Zero };

    private static async Task<CachedMailboxStore> HostThatWroteTheIndexAsync(StorageAccount account, MailAddress user)
    {
        var first = Host(account);
        await first.OpenAsync(user, "INBOX");
        await first.FlushIndexWritesAsync();
        Assert.Equal(1, first.IndexesWritten);
        return first;
    }

    /// <summary>FETCH 1:* as a session asks for it: up to the largest UID it was told of.</summary>
    private static async Task<List<MessageDetails>> SummariesAsync(CachedMailboxStore store, MailAddress user, FolderSnapshot opened)
    {
        var rows = new List<MessageDetails>();
        var last = opened.Messages[^1].Uid;
        await foreach (var row in store.QueryMessagesAsync(user, "INBOX", 1, last, MessageDetail.Summary))
            rows.Add(row);
        return rows;
    }

    private static void SameAsTheTable(FolderSnapshot expected, FolderSnapshot actual)
    {
        Assert.Equal(expected.UidValidity, actual.UidValidity);
        Assert.Equal(expected.Messages.Select(m => (m.Uid, m.Flags, m.ModSeq, m.Blob, m.Size)), actual.Messages.Select(m => (m.Uid, m.Flags, m.ModSeq, m.Blob, m.Size)));
    }

    private static string Requests(StorageAccount account) =>
        string.Join(' ', account.RequestCounter.Snapshot().Where(kv => kv.Value > 0).Select(kv => $"{kv.Key[(kv.Key.IndexOf('.') + 1)..]}={kv.Value}").Order(StringComparer.Ordinal));

    [Fact]
    public async Task A_second_host_opens_a_large_folder_from_the_index_with_two_requests_and_no_message_rows()
    {
        var (store, account, user) = await NewAsync();
        await store.UpdateFlagsAsync(user, "INBOX", [7, 8], FlagEdit.Add(MessageFlags.Seen));
        await HostThatWroteTheIndexAsync(account, user);

        var second = Host(account);
        account.RequestCounter.Reset();
        var opened = await second.OpenAsync(user, "INBOX");
        var requests = account.RequestCounter.Snapshot();
        Assert.Equal(2, account.RequestCounter.Total);
        Assert.Equal(1, requests.GetValueOrDefault("table.GetEntity")); // the folder row
        Assert.Equal(1, requests.GetValueOrDefault("blob.GetBlob")); // the index
        Assert.Equal(1, second.IndexOpens);
        SameAsTheTable(await store.OpenAsync(user, "INBOX"), opened);
        Assert.Equal(MessageFlags.Seen, opened.Messages.Single(m => m.Uid == 7).Flags);

        // The summaries came with it, still compressed: the SELECT did not inflate them, the first FETCH ENVELOPE
        // does, from memory, and neither it nor a SEARCH after it reads anything more.
        Assert.Equal(0, second.IndexSummariesInflated);
        account.RequestCounter.Reset();
        var summaries = await SummariesAsync(second, user, opened);
        Assert.Equal(0, account.RequestCounter.Total);
        Assert.Equal(1, second.IndexSummariesInflated);
        Assert.Equal(5, (await second.GetMessageAsync(user, "INBOX", 5, MessageDetail.Search))!.Uid);
        Assert.Equal(0, account.RequestCounter.Total);
        Assert.Equal(1, second.IndexSummariesInflated);
        Assert.Equal(Enumerable.Range(1, Messages).Select(i => $"m{i}"), summaries.Select(s => s.Subject));
        Assert.Equal("(NIL \"m5\" NIL NIL NIL NIL NIL NIL NIL NIL)", summaries[4].Envelope);
        Assert.Equal("Subject: m5\r\n\r\n"u8.ToArray(), summaries[4].Header);
        Assert.Equal(0, second.IndexesWritten); // current: nothing to write back
    }

    [Fact]
    public async Task Changes_made_after_the_index_was_written_are_caught_up_exactly()
    {
        var (store, account, user) = await NewAsync();
        await HostThatWroteTheIndexAsync(account, user);
        // Another host without a cache: a flag, an expunge, a delivery.
        var other = new MailboxStore(account);
        await other.UpdateFlagsAsync(user, "INBOX", [5], FlagEdit.Add(@"\Flagged"));
        var snapshot = await other.OpenAsync(user, "INBOX");
        await other.ExpungeAsync(user, "INBOX", snapshot.Messages.Where(m => m.Uid == 9).ToList());
        await other.AddAsync(user, "INBOX", [Entry("late")], createFolder: false);

        var second = Host(account);
        var opened = await second.OpenAsync(user, "INBOX");
        Assert.Equal(1, second.IndexOpens);
        SameAsTheTable(await store.OpenAsync(user, "INBOX"), opened);
        Assert.DoesNotContain(opened.Messages, m => m.Uid == 9);
        Assert.Equal(@"\Flagged", opened.Messages.Single(m => m.Uid == 5).Flags);
        var summaries = await SummariesAsync(second, user, opened);
        Assert.Equal("late", summaries[^1].Subject); // read for the new message only
        Assert.Equal(Messages, summaries.Count);
    }

    [Fact]
    public async Task An_index_far_behind_is_caught_up_and_written_again()
    {
        var (store, account, user) = await NewAsync();
        await HostThatWroteTheIndexAsync(account, user);
        // More changes than RewriteIndexAfter, one expunge among them.
        var other = new MailboxStore(account);
        for (int i = 1; i <= 40; i++)
            await other.UpdateFlagsAsync(user, "INBOX", [i], FlagEdit.Add(MessageFlags.Seen));
        await other.ExpungeAsync(user, "INBOX", (await other.OpenAsync(user, "INBOX")).Messages.Where(m => m.Uid == 100).ToList());

        var second = Host(account);
        SameAsTheTable(await store.OpenAsync(user, "INBOX"), await second.OpenAsync(user, "INBOX"));
        await second.FlushIndexWritesAsync();
        Assert.Equal(1, second.IndexesWritten);

        var third = Host(account);
        var expected = await store.OpenAsync(user, "INBOX");
        account.RequestCounter.Reset();
        var opened = await third.OpenAsync(user, "INBOX");
        SameAsTheTable(expected, opened);
        Assert.Equal("GetBlob=1 GetEntity=1", Requests(account)); // the rewritten index is current

        // The second host wrote it from an entry whose summaries were still packed: they went into it all the same.
        account.RequestCounter.Reset();
        var summaries = await SummariesAsync(third, user, opened);
        Assert.Equal(0, account.RequestCounter.Total);
        Assert.Equal(Enumerable.Range(1, Messages).Where(i => i != 100).Select(i => $"m{i}"), summaries.Select(s => s.Subject));
    }

    [Fact]
    public async Task A_store_on_the_whole_folder_writes_the_index_again_so_the_next_host_reads_no_rows()
    {
        var (store, account, user) = await NewAsync();
        var first = await HostThatWroteTheIndexAsync(account, user);
        await first.UpdateFlagsAsync(user, "INBOX", Enumerable.Range(1, Messages).Select(i => (long)i).ToList(), FlagEdit.Add(MessageFlags.Seen));
        await first.FlushIndexWritesAsync();
        Assert.Equal(2, first.IndexesWritten); // 120 of 120 changed: past half of IndexFrom and a tenth of the folder

        var second = Host(account);
        var expected = await store.OpenAsync(user, "INBOX");
        account.RequestCounter.Reset();
        var opened = await second.OpenAsync(user, "INBOX");
        Assert.Equal("GetBlob=1 GetEntity=1", Requests(account));
        SameAsTheTable(expected, opened);
        Assert.All(opened.Messages, m => Assert.Equal(MessageFlags.Seen, m.Flags));
    }

    [Fact]
    public async Task A_damaged_index_is_ignored_and_replaced()
    {
        var (store, account, user) = await NewAsync();
        await HostThatWroteTheIndexAsync(account, user);
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        var blob = account.Blobs.GetBlobContainerClient(StorageNames.FolderIndexContainer).GetBlobClient(BlobFolderIndexSnapshots.BlobName(user, "INBOX", folder.UidValidity));
        var bytes = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        await blob.UploadAsync(new BinaryData(bytes[..(bytes.Length / 2)]), overwrite: true); // cut short

        var second = Host(account);
        SameAsTheTable(await store.OpenAsync(user, "INBOX"), await second.OpenAsync(user, "INBOX"));
        Assert.Equal(0, second.IndexOpens);
        await second.FlushIndexWritesAsync();
        Assert.Equal(1, second.IndexesWritten);
        Assert.True(FolderIndexFormat.TryRead((await blob.DownloadContentAsync()).Value.Content.ToArray(), out var index));
        Assert.Equal(Messages, index.Messages.Count);
    }

    [Fact]
    public async Task An_index_that_disagrees_with_the_folder_count_is_not_trusted()
    {
        var (store, account, user) = await NewAsync();
        var expected = await store.OpenAsync(user, "INBOX");
        // Current by its MODSEQ but missing messages (as rows written around the store would leave it).
        await new BlobFolderIndexSnapshots(account).WriteAsync(user, "INBOX",
            new StoredFolderIndex(expected.UidValidity, expected.Folder!.HighestModSeq, Messages + 1, expected.Messages.Take(Messages / 2).ToList(), []));

        var host = Host(account);
        SameAsTheTable(expected, await host.OpenAsync(user, "INBOX"));
        Assert.Equal(0, host.IndexOpens);
        await host.FlushIndexWritesAsync();
        Assert.Equal(1, host.IndexesWritten); // replaced by one read from the rows
        var next = Host(account);
        SameAsTheTable(expected, await next.OpenAsync(user, "INBOX"));
        Assert.Equal(1, next.IndexOpens);
    }

    [Fact]
    public async Task A_folder_deleted_and_created_again_never_opens_from_the_old_index()
    {
        var (store, account, user) = await NewAsync();
        await store.AddAsync(user, "Archive", Enumerable.Range(1, Messages).Select(i => Entry($"a{i}")).ToList(), createFolder: true);
        var first = Host(account);
        await first.OpenAsync(user, "Archive");
        await first.FlushIndexWritesAsync();
        var old = (await store.GetFolderAsync(user, "Archive"))!;
        var container = account.Blobs.GetBlobContainerClient(StorageNames.FolderIndexContainer);
        Assert.True(await container.GetBlobClient(BlobFolderIndexSnapshots.BlobName(user, "Archive", old.UidValidity)).ExistsAsync());

        Assert.True(await first.DeleteFolderAsync(user, "Archive"));
        Assert.False(await container.GetBlobClient(BlobFolderIndexSnapshots.BlobName(user, "Archive", old.UidValidity)).ExistsAsync());
        await store.AddAsync(user, "Archive", Enumerable.Range(1, Messages).Select(i => Entry($"b{i}")).ToList(), createFolder: true);
        var second = Host(account);
        var opened = await second.OpenAsync(user, "Archive");
        Assert.NotEqual(old.UidValidity, opened.UidValidity);
        Assert.Equal(0, second.IndexOpens);
        Assert.Equal("b1", (await second.GetMessageAsync(user, "Archive", opened.Messages[0].Uid, MessageDetail.Summary))!.Subject);
    }

    [Fact]
    public async Task A_small_folder_writes_no_index_and_opens_with_the_same_requests_as_without()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var user = MailAddress.Parse($"{AzuriteFixture.UniqueName("index")}@example.test");
        await new MailboxStore(account).AddAsync(user, "INBOX", Enumerable.Range(1, 20).Select(i => Entry($"s{i}")).ToList(), createFolder: true);
        var host = Host(account);
        account.RequestCounter.Reset();
        Assert.Equal(20, (await host.OpenAsync(user, "INBOX")).Messages.Count);
        await host.FlushIndexWritesAsync();
        Assert.Equal(2, account.RequestCounter.Total); // the folder row and one page of rows, as an uncached store reads them
        Assert.Equal(0, host.IndexesWritten);
    }
}
