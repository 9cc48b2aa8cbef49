using System.Net;
using MailCloud.Core;
using MailCloud.Imap;
using MailCloud.LocalDev;
using Microsoft.Extensions.Logging;
using static MailCloud.FunctionalTests.Imap.JsonLines;

namespace MailCloud.FunctionalTests.Imap;

/// <summary>
/// A second IMAP host on the same storage (a new replica, or this one after a restart) opens a large folder from the
/// stored index the first host wrote, with its summaries still packed, and must answer SELECT, FETCH and SEARCH
/// exactly as the host that read the rows does. Real imaplib over TLS against two real servers on one Azurite.
/// </summary>
public sealed class ImapNewHostTests(ImapFixture fx) : IClassFixture<ImapFixture>
{
    private const int Messages = 600; // over the 500 from which folders get an index

    private const string User = "u6@example.test";

    /// <summary>What a client sees of INBOX: the SELECT's untagged lines, every message's UID, flags and envelope, two searches.</summary>
    private static string Look(int port) => $$"""
m = login("{{User}}", {{port}})
typ, exists = m.select("INBOX")
sel = [t(exists)] + [t(m.untagged_responses.get(code, [])) for code in ("UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ", "FLAGS")]
typ, env = m.fetch("1:*", "(UID FLAGS ENVELOPE)")
subj = m.uid("SEARCH", None, "SUBJECT", '"message 417"')[1][0]
frm = m.uid("SEARCH", None, "FROM", "s7@remote")[1][0]
out(k="look", sel=sel, env=t(env), subj=t(subj), frm=t(frm))
m.logout()
""";

    [Fact]
    public async Task A_new_host_opens_a_large_folder_from_the_stored_index_and_answers_as_the_first_did()
    {
        // Through the first host: 600 APPENDs, a flag on some, then a SELECT there reads the rows and writes the index.
        await fx.PythonAsync($$"""
m = login("{{User}}")
for i in range({{Messages}}):
    body = ("From: Sender %d <s%d@remote.example>\r\nTo: {{User}}\r\nSubject: message %d\r\nMessage-ID: <n%d@remote.example>\r\n\r\nbody %d\r\n" % (i % 13, i % 13, i, i, i)).encode()
    assert m.append("INBOX", None, None, body)[0] == "OK"
m.select("INBOX")
m.store("1:50", "+FLAGS.SILENT", "(\\Flagged)")
m.logout()
""");
        var first = One(await fx.PythonAsync(Look(fx.ImapsPort)), "look");
        var index = fx.Account.Blobs.GetBlobContainerClient(StorageNames.FolderIndexContainer);
        bool written = false;
        for (int i = 0; i < 100 && !written; i++)
        {
            await foreach (var blob in index.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, User, default))
                written = true;
            if (!written)
                await Task.Delay(200); // written 5 s after the read, in the background
        }
        Assert.True(written, "the first host wrote no folder index");

        // A second host: nothing of the folder in its memory.
        int port = AzuriteProcess.FreePort();
        var options = new ImapServerOptions { HostName = "imap2.mailcloud.test", Certificate = fx.ImapOptions.Certificate };
        options.Listeners.Add(new ImapListener("imaps", new IPEndPoint(IPAddress.Loopback, port), true));
        // Its own account object on the same storage, so its requests are counted apart from the fixture's pipeline.
        var account = new MailCloud.Storage.StorageAccount(fx.Account.Connection);
        var second = ImapServerHost.Build(options, account, l => l.AddFilter(_ => false));
        await second.StartAsync();
        try
        {
            account.RequestCounter.Reset();
            var fromIndex = One(await fx.PythonAsync(Look(port)), "look");
            var after = account.RequestCounter.Snapshot();
            long Delta(string op) => after.GetValueOrDefault(op);

            // No message row was read: the folder came from the index (one blob), the envelopes and searches from its
            // packed summaries.
            Assert.Equal(0, Delta("table.QueryEntities"));
            Assert.Equal(1, Delta("blob.GetBlob"));
            Assert.Equal(S(first, "sel"), S(fromIndex, "sel"));
            Assert.Equal(S(first, "env"), S(fromIndex, "env"));
            Assert.Equal(S(first, "subj"), S(fromIndex, "subj"));
            Assert.Equal(S(first, "frm"), S(fromIndex, "frm"));
            Assert.Contains("\"message 599\"", S(fromIndex, "env"), StringComparison.Ordinal);
            Assert.Equal(50, S(fromIndex, "env").Split("\\Flagged").Length - 1);
            Assert.Equal(Messages / 13 + (Messages % 13 > 7 ? 1 : 0), S(fromIndex, "frm").Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            await second.StopAsync();
            await second.DisposeAsync();
        }
    }
}
