using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>
/// Deliveries to one folder that arrive while a transaction on it is in flight are committed together in the next one,
/// instead of each racing for the folder row's ETag. Real Azurite; the first transaction is held at the HTTP
/// transport until the test has queued the others, because which adds meet in a group is what is under test.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class GroupedMailboxAddsTests(AzuriteFixture azurite)
{
    /// <summary>Holds the first entity-group transaction until <see cref="Release"/>; counts the transactions' statuses.</summary>
    private sealed class HoldFirstTransaction : InterceptingTransport
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _seen;

        public List<int> Statuses { get; } = [];

        public Task Held => _held.Task;

        public void Release() => _gate.TrySetResult();

        public override async ValueTask ProcessAsync(HttpMessage message)
        {
            bool batch = IsTransaction(message);
            if (batch && Interlocked.Increment(ref _seen) == 1)
            {
                _held.TrySetResult();
                await _gate.Task;
            }
            await SendAsync(message);
            if (batch)
            {
                lock (Statuses)
                    Statuses.Add(message.Response.Status);
            }
        }
    }

    private static MailboxEntry Entry(string id, string? subject = null) =>
        new(id, "test/" + id, 10, DateTimeOffset.UtcNow, string.Empty, new Dictionary<string, object?> { ["Subject"] = subject ?? id });

    private async Task<(GroupedMailboxAdds Adds, MailboxStore Store, HoldFirstTransaction Transport, MailAddress User)> NewAsync()
    {
        var transport = new HoldFirstTransaction();
        var account = azurite.NewAccount(new StorageClientOptions { Transport = transport });
        await StorageProvisioner.EnsureCreatedAsync(account);
        var user = MailAddress.Parse($"{AzuriteFixture.UniqueName("grouped")}@example.test");
        var store = new MailboxStore(azurite.NewAccount());
        await store.EnsureDefaultFoldersAsync(user);
        return (new GroupedMailboxAdds(new MailboxStore(account).Writer), store, transport, user);
    }

    [Fact]
    public async Task Adds_that_arrive_while_one_is_in_flight_go_in_one_transaction_with_their_own_uids()
    {
        var (adds, store, transport, user) = await NewAsync();
        var first = adds.AddAsync(user, "INBOX", Entry("first"), createFolder: true, CancellationToken.None);
        await transport.Held;
        var waiting = Enumerable.Range(1, 20).Select(i => adds.AddAsync(user, "INBOX", Entry($"m{i}"), createFolder: true, CancellationToken.None)).ToList();
        // The same work item twice in one group (a queue's redelivery) is added once.
        var again = adds.AddAsync(user, "INBOX", Entry("m7"), createFolder: true, CancellationToken.None);
        await Task.Delay(100);
        Assert.DoesNotContain(waiting, w => w.IsCompleted);

        transport.Release();
        Assert.Equal(1, (await first).Uid);
        var added = await Task.WhenAll(waiting);
        Assert.Equal(Enumerable.Range(2, 20).Select(i => (long)i), added.Select(a => a.Uid));
        Assert.All(added, a => Assert.False(a.AlreadyThere));
        var repeated = await again;
        Assert.True(repeated.AlreadyThere);
        Assert.Equal(added[6].Uid, repeated.Uid);

        // Two transactions for 21 messages, and none lost a race for the folder row.
        Assert.Equal([202, 202], transport.Statuses);
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal(21, folder.Exists);
        Assert.Equal(22, folder.UidNext);
    }

    [Fact]
    public async Task An_entry_the_service_refuses_fails_alone_and_the_rest_of_its_group_lands()
    {
        var (adds, store, transport, user) = await NewAsync();
        var first = adds.AddAsync(user, "INBOX", Entry("first"), createFolder: true, CancellationToken.None);
        await transport.Held;
        var good1 = adds.AddAsync(user, "INBOX", Entry("good1"), createFolder: true, CancellationToken.None);
        // A property over the service's 64 KiB (32K UTF-16 characters): the whole group's transaction is refused (400).
        var bad = adds.AddAsync(user, "INBOX", Entry("bad", new string('x', 40_000)), createFolder: true, CancellationToken.None);
        var good2 = adds.AddAsync(user, "INBOX", Entry("good2"), createFolder: true, CancellationToken.None);

        transport.Release();
        await first;
        var e = await Assert.ThrowsAnyAsync<RequestFailedException>(() => bad);
        Assert.Equal(400, e.Status);
        var landed = new[] { await good1, await good2 };
        Assert.All(landed, a => Assert.False(a.AlreadyThere));
        Assert.Equal(2, landed.Select(a => a.Uid).Distinct().Count());
        var folder = (await store.GetFolderAsync(user, "INBOX"))!;
        Assert.Equal(3, folder.Exists);
        var ids = (await store.ChangedSinceAsync(user, "INBOX", 0)).Select(m => m.MessageId).Order().ToList();
        Assert.Equal(["first", "good1", "good2"], ids);
    }

    [Fact]
    public async Task Appends_whose_blobs_are_still_uploading_are_grouped_and_a_failed_upload_fails_only_its_own()
    {
        var transport = new HoldFirstTransaction();
        var account = azurite.NewAccount(new StorageClientOptions { Transport = transport });
        await StorageProvisioner.EnsureCreatedAsync(account);
        var user = MailAddress.Parse($"{AzuriteFixture.UniqueName("grouped")}@example.test");
        var store = new MailboxStore(account); // what the IMAP host's sessions share
        await store.EnsureDefaultFoldersAsync(user);
        var first = store.AddAsync(user, "INBOX", [Entry("first")], createFolder: false);
        await transport.Held;
        var uploaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var failing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ok = store.AddAsync(user, "INBOX", [Entry("ok")], createFolder: false, uploaded.Task);
        var lost = store.AddAsync(user, "INBOX", [Entry("lost")], createFolder: false, failing.Task);

        transport.Release();
        await first;
        uploaded.SetResult();
        failing.SetException(new RequestFailedException(503, "the blob service is unavailable"));
        Assert.Equal(503, (await Assert.ThrowsAsync<RequestFailedException>(() => lost)).Status);
        Assert.Equal(2, Assert.Single(await ok).Uid);
        Assert.False(await new SpoolMaintenance(account).IsReferencedAsync("test/lost"));
        Assert.Equal(["first", "ok"], (await store.ChangedSinceAsync(user, "INBOX", 0)).Select(m => m.MessageId).Order());
    }

    [Fact]
    public async Task A_caller_that_stops_waiting_still_has_its_entry_committed_once()
    {
        var (adds, store, transport, user) = await NewAsync();
        var first = adds.AddAsync(user, "INBOX", Entry("first"), createFolder: true, CancellationToken.None);
        await transport.Held;
        using var stop = new CancellationTokenSource();
        var given_up = adds.AddAsync(user, "INBOX", Entry("given-up"), createFolder: true, stop.Token);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => given_up);

        transport.Release();
        await first;
        // The work item's retry finds it there.
        var retried = await adds.AddAsync(user, "INBOX", Entry("given-up"), createFolder: true, CancellationToken.None);
        Assert.True(retried.AlreadyThere);
        Assert.Equal(2, retried.Uid);
        Assert.Equal(2, (await store.GetFolderAsync(user, "INBOX"))!.Exists);
    }
}
