using System.Reflection;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Imap;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailCloud.UnitTests.Sessions;

/// <summary>
/// The per-host folder cache: an unchanged folder opens with one state read; changes made behind its back (another
/// host, the index function) are caught up from the MODSEQ; summaries are read once; the budget evicts.
/// </summary>
public sealed class CachedMailboxStoreTests
{
    private static readonly MailAddress Bob = MailAddress.Parse("bob@example.test");

    private static byte[] Message(string subject) =>
        Encoding.ASCII.GetBytes($"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.test>\r\n\r\nbody\r\n");

    private static async Task<(InMemoryMailStore Inner, CountingStore Counts, CachedMailboxStore Cache)> StoresAsync(int messages = 3, long budget = CachedMailboxStore.DefaultBudget)
    {
        var inner = new InMemoryMailStore();
        for (int i = 1; i <= messages; i++)
            await inner.DeliverAsync(Bob, Message($"m{i}"));
        var counts = CountingStore.Wrap(inner);
        return (inner, counts, new CachedMailboxStore((IMailboxStore)counts, budget));
    }

    [Fact]
    public async Task An_unchanged_folder_opens_with_one_state_read()
    {
        var (_, counts, cache) = await StoresAsync();
        var first = await cache.OpenAsync(Bob, "INBOX");
        Assert.Equal(3, first.Messages.Count);
        counts.Calls.Clear();
        var second = await cache.OpenAsync(Bob, "INBOX");
        Assert.Equal(first.Messages.Select(m => m.Uid), second.Messages.Select(m => m.Uid));
        Assert.Equal(["GetFolderAsync"], counts.Calls);
        Assert.Equal(1, cache.Hits);
    }

    [Fact]
    public async Task Changes_made_elsewhere_are_caught_up_from_the_modseq()
    {
        var (inner, counts, cache) = await StoresAsync();
        await cache.OpenAsync(Bob, "INBOX");
        // Behind the cache's back: a flag change, a delivery and an expunge.
        await inner.UpdateFlagsAsync(Bob, "INBOX", [2], FlagEdit.Add(MessageFlags.Seen));
        await inner.DeliverAsync(Bob, Message("m4"));
        await inner.ExpungeAsync(Bob, "INBOX", [new MailboxMessage(1, 0, string.Empty, string.Empty, string.Empty)]);
        counts.Calls.Clear();
        var now = await cache.OpenAsync(Bob, "INBOX");
        Assert.Equal([2L, 3L, 4L], now.Messages.Select(m => m.Uid));
        Assert.Equal("\\Seen", now.Messages[0].Flags);
        // The in-memory store keeps no change log: the cache falls back to the rows changed since and the UID list.
        Assert.Equal(["GetFolderAsync", "ReadChangeLogAsync", "ChangedSinceAsync", "ListUidsAsync"], counts.Calls);
        var direct = await inner.OpenAsync(Bob, "INBOX");
        Assert.Equal(direct.Messages, now.Messages);
    }

    [Fact]
    public async Task A_flag_change_made_through_the_cache_needs_no_catch_up_unless_someone_else_changed_the_folder()
    {
        var (inner, counts, cache) = await StoresAsync();
        await cache.OpenAsync(Bob, "INBOX");
        await cache.UpdateFlagsAsync(Bob, "INBOX", [1, 2, 3], FlagEdit.Add(MessageFlags.Seen));
        counts.Calls.Clear();
        var after = await cache.OpenAsync(Bob, "INBOX");
        Assert.All(after.Messages, m => Assert.Equal("\\Seen", m.Flags));
        Assert.Equal(["GetFolderAsync"], counts.Calls);

        await inner.UpdateFlagsAsync(Bob, "INBOX", [1], FlagEdit.Add("$Other")); // someone else, in between
        await cache.UpdateFlagsAsync(Bob, "INBOX", [2], FlagEdit.Remove(MessageFlags.Seen));
        counts.Calls.Clear();
        var both = await cache.OpenAsync(Bob, "INBOX");
        Assert.Contains("$Other", both.Messages[0].Flags, StringComparison.Ordinal);
        Assert.Equal(string.Empty, both.Messages[1].Flags);
        Assert.Contains("ChangedSinceAsync", counts.Calls); // caught up, since its own step did not follow on
    }

    [Fact]
    public async Task Summaries_are_read_once_and_newer_messages_are_not_missed()
    {
        var (inner, counts, cache) = await StoresAsync();
        await cache.OpenAsync(Bob, "INBOX");
        var first = await ToListAsync(cache.QueryMessagesAsync(Bob, "INBOX", 1, 3, MessageDetail.Summary));
        Assert.Equal(3, first.Count);
        counts.Calls.Clear();
        var again = await ToListAsync(cache.QueryMessagesAsync(Bob, "INBOX", 1, 3, MessageDetail.Summary));
        Assert.Equal(first, again);
        Assert.Empty(counts.Calls);
        Assert.NotNull(await cache.GetMessageAsync(Bob, "INBOX", 2, MessageDetail.Summary));
        Assert.Empty(counts.Calls);

        // A message delivered after the list was read: a session that heard of it asks for it and gets it.
        await inner.DeliverAsync(Bob, Message("m4"));
        var withNew = await ToListAsync(cache.QueryMessagesAsync(Bob, "INBOX", 1, 4, MessageDetail.Summary));
        Assert.Equal([1L, 2L, 3L, 4L], withNew.Select(d => d.Uid));
        Assert.Contains("m4", withNew[3].Envelope, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_search_after_a_summary_fetch_is_answered_from_the_summaries()
    {
        var (_, counts, cache) = await StoresAsync();
        await cache.OpenAsync(Bob, "INBOX");
        await ToListAsync(cache.QueryMessagesAsync(Bob, "INBOX", 1, 3, MessageDetail.Summary));
        counts.Calls.Clear();
        var search = await ToListAsync(cache.QueryMessagesAsync(Bob, "INBOX", 1, 3, MessageDetail.Search));
        Assert.Equal(["m1", "m2", "m3"], search.Select(d => d.Subject));
        Assert.NotNull(await cache.GetMessageAsync(Bob, "INBOX", 2, MessageDetail.Search));
        Assert.Empty(counts.Calls);
        // The other way round does not hold: search rows lack the envelope, so a summary fetch still reads.
        var (_, counts2, cache2) = await StoresAsync();
        await cache2.OpenAsync(Bob, "INBOX");
        await ToListAsync(cache2.QueryMessagesAsync(Bob, "INBOX", 1, 3, MessageDetail.Search));
        counts2.Calls.Clear();
        await ToListAsync(cache2.QueryMessagesAsync(Bob, "INBOX", 1, 3, MessageDetail.Summary));
        Assert.Single(counts2.Calls);
    }

    [Fact]
    public async Task A_folder_deleted_and_created_again_is_read_afresh()
    {
        var (inner, _, cache) = await StoresAsync();
        var before = await cache.OpenAsync(Bob, "INBOX");
        await inner.CreateFolderAsync(Bob, "Work");
        await inner.AddAsync(Bob, "Work", [new MailboxEntry("w1", "test/none", 1, DateTimeOffset.UtcNow, string.Empty, new Dictionary<string, object?>())], createFolder: false);
        var work = await cache.OpenAsync(Bob, "Work");
        Assert.Single(work.Messages);
        await inner.DeleteFolderAsync(Bob, "Work");
        await inner.CreateFolderAsync(Bob, "Work");
        var recreated = await cache.OpenAsync(Bob, "Work");
        Assert.Empty(recreated.Messages);
        Assert.NotEqual(work.UidValidity, recreated.UidValidity);
        Assert.Equal(before.Messages.Count, (await cache.OpenAsync(Bob, "INBOX")).Messages.Count);
    }

    [Fact]
    public async Task Over_budget_the_least_recently_used_folder_goes_and_answers_stay_right()
    {
        var (inner, counts, cache) = await StoresAsync(messages: 20, budget: 4_000);
        await inner.CreateFolderAsync(Bob, "Other");
        for (int i = 0; i < 20; i++)
            await inner.DeliverAsync(Bob, Message($"o{i}"), folder: "Other");
        await cache.OpenAsync(Bob, "INBOX");
        await cache.OpenAsync(Bob, "Other"); // 40 list entries are over 4,000 bytes: INBOX is evicted
        Assert.True(cache.Bytes <= 4_000, $"{cache.Bytes} bytes cached");
        counts.Calls.Clear();
        var inbox = await cache.OpenAsync(Bob, "INBOX");
        Assert.Equal(20, inbox.Messages.Count);
        Assert.Contains("OpenAsync", counts.Calls); // read again in full
    }

    [Fact]
    public async Task Two_sessions_through_one_cache_see_each_others_flags_and_expunges()
    {
        var inner = new InMemoryMailStore();
        var directory = new InMemoryDirectory();
        var bob = directory.AddUser("bob@example.test", "bob password");
        for (int i = 1; i <= 3; i++)
            await inner.DeliverAsync(bob, Message($"s{i}"));
        var cache = new CachedMailboxStore(inner);
        await using var watcher = new FolderWatcher(cache, TimeSpan.FromHours(1), NullLogger.Instance);
        using var a = new ImapHarness(inner, directory, watcher, mailboxes: cache);
        using var b = new ImapHarness(inner, directory, watcher, mailboxes: cache);
        foreach (var s in new[] { a, b })
        {
            Assert.Contains("OK", await s.SendAsync("l LOGIN bob@example.test \"bob password\""), StringComparison.Ordinal);
            Assert.Contains("* 3 EXISTS", await s.SendAsync("s SELECT INBOX"), StringComparison.Ordinal);
        }
        Assert.Contains("OK", await a.SendAsync("t STORE 2 +FLAGS (\\Deleted)"), StringComparison.Ordinal);
        Assert.Contains("* 2 EXPUNGE", await a.SendAsync("e EXPUNGE"), StringComparison.Ordinal);
        Assert.Contains("* 2 EXPUNGE", await b.SendAsync("n NOOP"), StringComparison.Ordinal);
        // A third session opening now gets the folder from the cache, already without the message.
        using var c = new ImapHarness(inner, directory, watcher, mailboxes: cache);
        await c.SendAsync("l LOGIN bob@example.test \"bob password\"");
        Assert.Contains("* 2 EXISTS", await c.SendAsync("s SELECT INBOX"), StringComparison.Ordinal);
        var envelopes = await c.SendAsync("f FETCH 1:* (UID ENVELOPE)");
        Assert.Contains("UID 1 ENVELOPE", envelopes, StringComparison.Ordinal);
        Assert.Contains("UID 3 ENVELOPE", envelopes, StringComparison.Ordinal);
        Assert.DoesNotContain("UID 2 ", envelopes, StringComparison.Ordinal);
    }

    private static async Task<List<MessageDetails>> ToListAsync(IAsyncEnumerable<MessageDetails> rows)
    {
        var list = new List<MessageDetails>();
        await foreach (var r in rows)
            list.Add(r);
        return list;
    }
}

/// <summary>Records which store methods were called (a proxy, so every method of the interface is covered).</summary>
public class CountingStore : DispatchProxy
{
    private IMailboxStore _inner = null!;

    public List<string> Calls { get; } = [];

    public static CountingStore Wrap(IMailboxStore inner)
    {
        var proxy = Create<IMailboxStore, CountingStore>();
        var counting = (CountingStore)(object)proxy;
        counting._inner = inner;
        return counting;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        lock (Calls)
            Calls.Add(targetMethod!.Name);
        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }
}
