using Azure;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>
/// APPEND hands the store its blob upload still running, so the folder row read and the blob reference go at the
/// same time as the upload. The entry must still never be committed before its blob is there, and a failed upload
/// must add nothing and leave no reference behind (housekeeping walks blobs, so it would never find one). Real
/// Azurite; the upload is a task the test completes or fails itself, because the ordering is what is under test.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AddWhileWritingTests(AzuriteFixture azurite)
{
    private static MailboxEntry Entry(string id) => new(id, "test/" + id, 10, DateTimeOffset.UtcNow, string.Empty, new Dictionary<string, object?> { ["Subject"] = id });

    private async Task<(MailboxStore Store, StorageAccount Account, MailAddress User)> NewAsync()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var user = MailAddress.Parse($"{AzuriteFixture.UniqueName("adding")}@example.test");
        var store = new MailboxStore(account);
        await store.EnsureDefaultFoldersAsync(user);
        return (store, account, user);
    }

    private static async Task<bool> ReferencedAsync(StorageAccount account, string blob) =>
        await new SpoolMaintenance(account).IsReferencedAsync(blob);

    /// <summary>Up to 5 s for the store to have written the reference while the upload is still pending.</summary>
    private static async Task<bool> ReferenceWrittenAsync(StorageAccount account, string blob)
    {
        for (int i = 0; i < 100 && !await ReferencedAsync(account, blob); i++)
            await Task.Delay(50);
        return await ReferencedAsync(account, blob);
    }

    [Fact]
    public async Task The_entry_is_committed_only_once_its_content_is_written_and_costs_three_requests()
    {
        var (store, account, user) = await NewAsync();
        var upload = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        account.RequestCounter.Reset();
        var adding = store.AddAsync(user, "INBOX", [Entry("a")], createFolder: false, upload.Task);

        // The reference is written while the upload runs...
        Assert.True(await ReferenceWrittenAsync(account, "test/a"));
        await Task.Delay(200);
        // ...but the entry waits for it.
        Assert.False(adding.IsCompleted);
        Assert.Equal(0, (await store.GetFolderAsync(user, "INBOX"))!.Exists);

        account.RequestCounter.Reset();
        upload.SetResult();
        var added = Assert.Single(await adding);
        Assert.Equal(1, added.Uid);
        // Only the transaction was left: the folder row and the reference were done while the upload ran.
        Assert.Equal(1, account.RequestCounter.Total);
        Assert.Equal(1, account.RequestCounter.Snapshot().GetValueOrDefault("table.EntityGroupTransaction"));
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal(1, folder.Exists);
        Assert.Equal(2, folder.UidNext);
    }

    [Fact]
    public async Task A_failed_upload_adds_nothing_and_leaves_no_reference()
    {
        var (store, account, user) = await NewAsync();
        var upload = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var adding = store.AddAsync(user, "INBOX", [Entry("lost")], createFolder: false, upload.Task);
        await ReferenceWrittenAsync(account, "test/lost");
        upload.SetException(new RequestFailedException(503, "the blob service is unavailable"));

        var e = await Assert.ThrowsAsync<RequestFailedException>(() => adding);
        Assert.Equal(503, e.Status);
        Assert.False(await ReferencedAsync(account, "test/lost"));
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal(0, folder.Exists);
        Assert.Equal(1, folder.UidNext);

        // The next add goes through as usual and takes UID 1: the failed one left no trace in the folder.
        var added = Assert.Single(await store.AddAsync(user, "INBOX", [Entry("next")], createFolder: false, Task.CompletedTask));
        Assert.Equal(1, added.Uid);
    }

    [Fact]
    public async Task An_add_to_a_missing_folder_removes_its_reference()
    {
        var (store, account, user) = await NewAsync();
        var upload = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var adding = store.AddAsync(user, "Nowhere", [Entry("astray")], createFolder: false, upload.Task);
        upload.SetResult();
        await Assert.ThrowsAsync<FolderNotFoundException>(() => adding);
        Assert.False(await ReferencedAsync(account, "test/astray"));
    }
}
