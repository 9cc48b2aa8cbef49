using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using MailCloud.Storage;
using MailCloud.UnitTests.Sessions;
using MailCloud.Webmail;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailCloud.UnitTests.Webmail;

/// <summary>The message list and the folder actions over the in-memory mailbox store (the same contract as Table storage).</summary>
public sealed class MailboxViewTests
{
    private static readonly MailAddress Alice = MailAddress.Parse("alice@example.test");

    private static (InMemoryMailStore Store, WebmailServices Services) Create()
    {
        var store = new InMemoryMailStore();
        store.EnsureDefaultFoldersAsync(Alice).GetAwaiter().GetResult();
        // The preference and upload stores are not reached by these tests; they only need an account to exist.
        var account = new StorageAccount(StorageConnection.Parse("UseDevelopmentStorage=true"));
        var services = new WebmailServices(new InMemoryDirectory(), store, store, new StubSpool(), new AuthThrottle(), new MailboxChangeHub(),
            new UserPreferencesStore(account), new UploadStore(account), new WebmailOptions { HostName = "mx.example.test", PageSize = 3 });
        return (store, services);
    }

    private static byte[] Message(int i, string from, string subject, string extra = "") =>
        Encoding.ASCII.GetBytes($"From: {from}\r\nTo: alice@example.test\r\nSubject: {subject}\r\nMessage-ID: <m{i}@x>\r\n{extra}\r\nbody {i}\r\n");

    [Fact]
    public async Task The_newest_page_pages_sorts_and_searches()
    {
        var (store, services) = Create();
        var view = new MailboxView(services);
        string[] subjects = ["delta", "alpha", "echo", "charlie", "bravo", "foxtrot", "golf"];
        for (int i = 0; i < subjects.Length; i++)
            await store.DeliverAsync(Alice, Message(i, $"Sender{i} <s{i}@remote.example>", subjects[i]), flags: i == 2 ? @"\Seen \Flagged" : "");

        var first = await view.PageAsync(Alice, new ListQuery("INBOX"), default);
        Assert.Equal(["golf", "foxtrot", "bravo"], first.Rows.Select(r => r.Subject));
        Assert.Equal((7, 3, 0), (first.Total, first.Pages, first.Page));
        var third = await view.PageAsync(Alice, new ListQuery("INBOX", Page: 2), default);
        Assert.Equal(["delta"], third.Rows.Select(r => r.Subject));

        var bySubject = await view.PageAsync(Alice, new ListQuery("INBOX", Sort: ListSort.Subject, Descending: false), default);
        Assert.Equal(["alpha", "bravo", "charlie"], bySubject.Rows.Select(r => r.Subject));
        var echo = (await view.PageAsync(Alice, new ListQuery("INBOX", Search: new SearchCriteria(Subject: "ECH")), default)).Rows.Single();
        Assert.True(echo.Seen && echo.Flagged);
        Assert.Equal("Sender2", echo.From);
        var bySender = await view.PageAsync(Alice, new ListQuery("INBOX", Search: new SearchCriteria(Any: "s5@remote")), default);
        Assert.Equal(["foxtrot"], bySender.Rows.Select(r => r.Subject));
        var byBody = await view.PageAsync(Alice, new ListQuery("INBOX", Search: new SearchCriteria(Body: "body 4")), default);
        Assert.Equal(["bravo"], byBody.Rows.Select(r => r.Subject));
    }

    [Fact]
    public async Task Conversations_group_a_thread_into_one_line()
    {
        var (store, services) = Create();
        await store.DeliverAsync(Alice, Message(1, "a@x", "Plans"));
        await store.DeliverAsync(Alice, Message(2, "b@x", "Re: Plans", "In-Reply-To: <m1@x>\r\nReferences: <m1@x>\r\n"));
        await store.DeliverAsync(Alice, Message(3, "c@x", "Other"));
        var page = await new MailboxView(services).PageAsync(Alice, new ListQuery("INBOX", Threads: true), default);
        Assert.Equal([("Other", 1), ("Re: Plans", 2)], page.Rows.Select(r => (r.Subject, r.ThreadCount)));
        var thread = await new MailboxView(services).ConversationAsync(Alice, "INBOX", 1, default);
        Assert.Equal(["Plans", "Re: Plans"], thread.Select(t => t.Row.Subject));
    }

    [Fact]
    public async Task Folder_actions_move_delete_to_trash_and_refuse_the_standard_folders()
    {
        var (store, services) = Create();
        var actions = new MailboxActions(services, NullLogger<MailboxActions>.Instance);
        var published = new List<string>();
        using var _ = services.Changes.Subscribe((_, folder) => published.Add(folder));
        await store.DeliverAsync(Alice, Message(1, "a@x", "one"));
        await store.DeliverAsync(Alice, Message(2, "a@x", "two"));
        await actions.CreateFolderAsync(Alice, "Projects", default);
        await actions.MoveAsync(Alice, "INBOX", [1], "Projects", default);
        await actions.DeleteAsync(Alice, "INBOX", [2], default);
        Assert.Empty((await store.OpenAsync(Alice, "INBOX")).Messages);
        Assert.Single((await store.OpenAsync(Alice, "Projects")).Messages);
        Assert.Single((await store.OpenAsync(Alice, "Trash")).Messages);
        Assert.Contains("INBOX", published);
        Assert.Contains("Projects", published);
        // Deleting in Trash is for good.
        await actions.DeleteAsync(Alice, "Trash", [(await store.OpenAsync(Alice, "Trash")).Messages[0].Uid], default);
        Assert.Empty((await store.OpenAsync(Alice, "Trash")).Messages);
        await Assert.ThrowsAsync<MailboxActionException>(() => actions.RenameFolderAsync(Alice, "Trash", "Bin", default));
        await Assert.ThrowsAsync<MailboxActionException>(() => actions.DeleteFolderAsync(Alice, "INBOX", default));
        await Assert.ThrowsAsync<MailboxActionException>(() => actions.CreateFolderAsync(Alice, "bad*name", default));
        await Assert.ThrowsAsync<MailboxActionException>(() => actions.MoveAsync(Alice, "Projects", [1], "Nowhere", default));
    }

    private sealed class StubSpool : IMessageSpool
    {
        public Task<InboundWorkItem> StoreAsync(string messageId, Envelope envelope, Stream content, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("these tests send nothing");
    }
}
