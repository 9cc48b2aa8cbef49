using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Data;

namespace MailCloud.FunctionalTests.Webmail;

/// <summary>
/// The mailbox index can be rebuilt from the blobs: mail delivered over SMTP and filed into folders over IMAP, the
/// user's whole index partition deleted, the rebuild run, and an IMAP client sees the same folders with the same
/// messages again (their bytes from the Message-ID header on: the verdict lines delivery serves in front of a message
/// live in its index row and are gone with it) — unread, as the rebuild documents, since flags live only there too.
/// </summary>
[Collection(WebmailCollection.Name)]
public sealed class MailboxRebuildTests(WebmailFixture fx)
{
    private const string View = """
        out = {}
        for line in m.list()[1]:
            name = line.decode().split(' "/" ')[-1].strip('"')
            m.select('"' + name + '"', readonly=True)
            typ, data = m.search(None, 'ALL')
            items = []
            for n in data[0].split():
                raw = m.fetch(n, '(BODY.PEEK[])')[1][0][1]
                msg = email.message_from_bytes(raw)
                items.append(msg['Subject'] + ' ' + hashlib.sha256(raw[raw.index(b'Message-ID'):]).hexdigest()[:16])
            out[name] = sorted(items)
        print(json.dumps(out, sort_keys=True))
        """;

    [Fact]
    public async Task Deleting_a_users_index_and_rebuilding_it_gives_back_the_same_imap_view()
    {
        const string user = "ken@example.test";
        for (int i = 1; i <= 4; i++)
            await fx.DeliverAsync("lee@remote.example", user, $"From: lee@remote.example\nTo: {user}\nSubject: rebuild {i}\nMessage-ID: <rebuild-{i}@remote.example>\n\nbody {i}\n");
        // Filed over IMAP: a folder of the user's own, one message moved there, one read.
        await fx.ImapAsync(user, """
            for attempt in range(60):
                m.select('INBOX')
                if len(m.search(None, 'ALL')[1][0].split()) == 4: break
                time.sleep(0.5)
            m.create('Archive')
            m.select('INBOX')
            typ, data = m.search(None, 'SUBJECT', '"rebuild 2"')
            m.copy(data[0], 'Archive'); m.store(data[0], '+FLAGS', '\\Deleted'); m.expunge()
            typ, data = m.search(None, 'SUBJECT', '"rebuild 3"')
            m.store(data[0], '+FLAGS', '\\Seen')
            """);
        var before = await fx.ImapAsync(user, View);

        // Lose the index: every row of the user's partition.
        var mailboxes = fx.Account.Tables.GetTableClient(StorageNames.MailboxTable);
        var partition = TableMailboxUsage.Partition(MailAddress.Parse(user));
        await foreach (var row in mailboxes.QueryAsync<TableEntity>(TableFilter.PartitionKey(partition), select: ["PartitionKey", "RowKey"]))
            await mailboxes.DeleteEntityAsync(row.PartitionKey, row.RowKey);
        var empty = await fx.ImapAsync(user, View);
        Assert.DoesNotContain("rebuild", empty, StringComparison.Ordinal);

        var result = await new MailboxRebuilder(fx.Account).RebuildAsync(MailAddress.Parse(user));
        Assert.Equal((4, 4, 0, 0), (result.References, result.Added, result.AlreadyIndexed, result.MissingBlobs));
        Assert.Equal(before, await fx.ImapAsync(user, View));
        var unseen = await fx.ImapAsync(user, "m.select('INBOX')\nprint(len(m.search(None, 'UNSEEN')[1][0].split()))");
        Assert.Equal("3", unseen.Trim()); // "rebuild 3" was read; flags are not recorded outside the index

        // Again: nothing doubles.
        var again = await new MailboxRebuilder(fx.Account).RebuildAsync(MailAddress.Parse(user));
        Assert.Equal((0, 4), (again.Added, again.AlreadyIndexed));
        Assert.Equal(before, await fx.ImapAsync(user, View));
    }
}
