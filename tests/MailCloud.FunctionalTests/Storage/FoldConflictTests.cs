using Azure.Core;
using Azure.Core.Pipeline;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>
/// A fold of a flag run into its rows racing other hosts, forced rather than hoped for: a transport in front of the
/// folding store's real Azurite connection runs the other hosts' writes just before the fold's row transaction and
/// just before its write of the folder row goes out, so both meet a changed ETag. Azurite cannot be told to interleave
/// requests, hence the hook; every request still goes to Azurite.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class FoldConflictTests(AzuriteFixture azurite)
{
    /// <summary>Runs each armed action ahead of the first request it matches, once, in the order armed; keeps those requests' statuses.</summary>
    private sealed class InterleavingTransport : InterceptingTransport
    {
        private readonly Queue<(string What, Func<Request, bool> Matches, Func<Task> Before)> _armed = new();
        private readonly object _lock = new();

        public List<(string What, int Status)> Fired { get; } = [];

        public void Arm(string what, Func<Request, bool> matches, Func<Task> before)
        {
            lock (_lock)
                _armed.Enqueue((what, matches, before));
        }

        public override async ValueTask ProcessAsync(HttpMessage message)
        {
            (string What, Func<Request, bool> Matches, Func<Task> Before)? hook = null;
            lock (_lock)
            {
                if (_armed.TryPeek(out var next) && next.Matches(message.Request))
                    hook = _armed.Dequeue();
            }
            if (hook is { } h)
                await h.Before();
            await SendAsync(message);
            if (hook is { } done)
            {
                lock (_lock)
                    Fired.Add((done.What, message.Response.Status));
            }
        }
    }

    private static MailboxEntry Entry(string id) => new(id, "test/" + id, 10, DateTimeOffset.UtcNow, string.Empty, new Dictionary<string, object?> { ["Subject"] = id });

    [Fact]
    public async Task A_fold_that_loses_its_rows_and_the_folder_row_to_other_hosts_retries_and_nothing_visible_is_lost()
    {
        var transport = new InterleavingTransport();
        var account = azurite.NewAccount(new StorageClientOptions { Transport = transport });
        await StorageProvisioner.EnsureCreatedAsync(account);
        var user = MailAddress.Parse($"{AzuriteFixture.UniqueName("fold")}@example.test");
        // Two runs allowed, none folded in the background: the third STORE folds the first run itself.
        var store = new MailboxStore(account) { MaxFlagRuns = 2, FoldFlagRunsAbove = 2 };
        var other = new MailboxStore(azurite.NewAccount()); // another host, not behind the hook
        await other.AddAsync(user, "INBOX", Enumerable.Range(1, 100).Select(i => Entry($"m{i}")).ToList(), createFolder: true);
        var all = Enumerable.Range(1, 100).Select(i => (long)i).ToList();
        await store.UpdateFlagsAsync(user, "INBOX", all, FlagEdit.Add(MessageFlags.Seen));
        await store.UpdateFlagsAsync(user, "INBOX", all, FlagEdit.Add("$A"));
        var runs = (await other.GetFolderAsync(user, "INBOX"))!.Runs;
        Assert.Equal(2, runs.Count);

        // Just before the fold's first row transaction: one of its rows is changed and one expunged.
        transport.Arm("rows", r => r.Method == RequestMethod.Post && r.Uri.ToString().Contains("$batch", StringComparison.Ordinal), async () =>
        {
            await other.UpdateFlagsAsync(user, "INBOX", [5], FlagEdit.Add("$Late"));
            await other.ExpungeAsync(user, "INBOX", [new MailboxMessage(7, 0, string.Empty, string.Empty, string.Empty)]);
        });
        // Just before it drops the run from the folder row: a delivery changes that row.
        transport.Arm("folder", r => r.Method == RequestMethod.Patch, async () =>
            await other.AddAsync(user, "INBOX", [Entry("late")], createFolder: false));

        account.RequestCounter.Reset();
        var result = await store.UpdateFlagsAsync(user, "INBOX", all, FlagEdit.Remove(MessageFlags.Seen));

        Assert.Equal(["rows", "folder"], transport.Fired.Select(f => f.What));
        // The fold's transaction failed on the changed rows and went again without them (a transaction answers 202
        // with the failure inside, so it is counted): 2 transactions. The STORE itself is still one run (UID 7 holds
        // no row any more, so nothing unnamed lies between 6 and 8); folder-row writes: the fold's 2 and the run's 1.
        var counted = account.RequestCounter.Snapshot();
        Assert.Equal(2, counted.GetValueOrDefault("table.EntityGroupTransaction"));
        Assert.Equal(3, counted.GetValueOrDefault("table.MergeEntity"));
        Assert.Equal(412, transport.Fired[1].Status); // the fold's write of the folder row met the delivery
        Assert.Equal(99, result.Changed.Count); // UID 7 is gone
        var folder = (await other.GetFolderAsync(user, "INBOX"))!;
        Assert.DoesNotContain(folder.Runs, r => r.ModSeq == runs[0].ModSeq); // the first run was folded and dropped, once
        Assert.Contains(folder.Runs, r => r.ModSeq == runs[1].ModSeq);
        var opened = await other.OpenAsync(user, "INBOX");
        Assert.Equal(100, opened.Messages.Count);
        Assert.DoesNotContain(opened.Messages, m => m.Uid == 7);
        foreach (var m in opened.Messages)
        {
            var expected = m.Uid switch { 101 => string.Empty, 5 => "$A $Late", _ => "$A" };
            Assert.True(expected == m.Flags, $"UID {m.Uid}: '{m.Flags}', expected '{expected}'");
        }
        Assert.Equal(100, folder.Unseen);
        Assert.Equal(opened.Messages.Max(m => m.ModSeq), folder.HighestModSeq);
        // The STORE's own changes carry MODSEQs above everything before it, and the rows the fold wrote kept theirs.
        Assert.All(result.Changed, c => Assert.True(c.ModSeq > runs[1].ModSeq));
    }
}
