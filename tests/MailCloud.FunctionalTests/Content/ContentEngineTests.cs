using System.Text;
using System.Text.Json;
using MailCloud.Core;
using MailCloud.Data;

namespace MailCloud.FunctionalTests.Content;

/// <summary>
/// Spam and virus filtering with the real engines (rspamd, clamd): where mail goes, what clients see of the verdict,
/// quarantine and release, an engine stopped mid-run, and learning from IMAP moves.
/// </summary>
public sealed class ContentEngineTests(ContentFixture fx) : IClassFixture<ContentFixture>
{
    private async Task<List<JsonElement>> ImapAsync(string body) => await fx.PythonAsync(body);

    [Fact]
    public async Task Clean_mail_reaches_the_inbox_with_the_verdict_headers_in_front_of_the_exact_bytes()
    {
        var sent = ContentFixture.Message("u1@example.test", "clean lunch", "Shall we have lunch on Thursday at noon?");
        await fx.SendAsync("sender@outside.test", "u1@example.test", sent);
        await fx.WaitForAsync("u1@example.test", "clean lunch");
        var lines = await ImapAsync("""
            m = login("u1@example.test"); m.select("INBOX")
            typ, d = m.fetch("1", "(RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (X-SPAM-STATUS X-VIRUS-SCANNED AUTHENTICATION-RESULTS)])")
            size = int(re.search(rb"RFC822.SIZE (\d+)", d[0][0]).group(1))
            out(k="msg", size=size, body=base64.b64encode(d[0][1]).decode(), fields=t(d[1][1]))
            """);
        var msg = lines.Single();
        var body = Convert.FromBase64String(msg.GetProperty("body").GetString()!);
        Assert.Equal(body.Length, msg.GetProperty("size").GetInt32());
        Assert.EndsWith(Encoding.ASCII.GetString(sent), Encoding.ASCII.GetString(body), StringComparison.Ordinal); // the blob's bytes untouched
        var fields = msg.GetProperty("fields").GetString()!;
        Assert.Contains($"Authentication-Results: {fx.Options.HostName};", fields, StringComparison.Ordinal);
        Assert.Contains("X-Spam-Status: No, score=", fields, StringComparison.Ordinal);
        Assert.Contains("engine=rspamd action=\"no action\"", fields, StringComparison.Ordinal);
        Assert.Contains("X-Virus-Scanned: clamd; clean", fields, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rspamd_add_header_files_mail_in_junk_and_an_imap_client_sees_why()
    {
        await fx.SendAsync("sender@outside.test", "u2@example.test", ContentFixture.Message("u2@example.test", "gtube junk", RspamdProcess.GtubeAddHeader));
        await fx.WaitForAsync("u2@example.test", "gtube junk", "Junk");
        Assert.Empty(await fx.MessagesAsync("u2@example.test"));
        var lines = await ImapAsync("""
            m = login("u2@example.test"); m.select("Junk")
            typ, d = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (X-SPAM-FLAG X-SPAM-SCORE X-SPAM-STATUS)])")
            typ, s = m.search(None, "HEADER", "X-Spam-Flag", "YES")
            out(k="junk", fields=t(d[0][1]), search=t(s[0]))
            """);
        var fields = lines.Single().GetProperty("fields").GetString()!;
        Assert.Contains("X-Spam-Flag: YES", fields, StringComparison.Ordinal);
        Assert.Contains("X-Spam-Status: Yes, score=6.0 engine=rspamd action=\"add header\"", fields, StringComparison.Ordinal);
        Assert.Contains("GTUBE", fields, StringComparison.Ordinal);
        Assert.Equal("1", lines.Single().GetProperty("search").GetString());
    }

    [Fact]
    public async Task Rspamd_reject_from_the_mx_is_quarantined_and_a_release_delivers_it_once()
    {
        await fx.SendAsync("sender@outside.test", "u3@example.test", ContentFixture.Message("u3@example.test", "gtube reject", RspamdProcess.GtubeReject));
        var quarantine = new QuarantineStore(fx.Account);
        var entry = await WaitForEntryAsync(quarantine, "gtube reject");
        Assert.Equal("spam", entry.Reason);
        Assert.Contains("reject", entry.Detail, StringComparison.Ordinal);
        Assert.Equal(["u3@example.test"], entry.Envelope.Recipients.Select(r => r.Address));
        Assert.Empty(await fx.MessagesAsync("u3@example.test"));
        Assert.Empty(await fx.MessagesAsync("u3@example.test", "Junk"));

        Assert.True(await quarantine.ReleaseAsync(entry.Id));
        await fx.WaitForAsync("u3@example.test", "gtube reject");
        Assert.False(await quarantine.ReleaseAsync(entry.Id)); // gone once released
        await Task.Delay(1500);
        Assert.Single(await fx.MessagesAsync("u3@example.test"));
    }

    /// <summary>An authenticated user's own mail that rspamd rejects is not held: the sender gets a bounce (headers only).</summary>
    [Fact]
    public async Task Rspamd_reject_on_submission_bounces_to_the_sender()
    {
        var env = fx.Env;
        env["MESSAGE"] = Convert.ToBase64String(ContentFixture.Message("u8@example.test", "submitted gtube", RspamdProcess.GtubeReject));
        var r = await ExternalProcess.PythonAsync("""
            import smtplib, ssl, os, base64
            s = smtplib.SMTP("127.0.0.1", int(os.environ["SUB"]), timeout=30)
            s.starttls(context=ssl._create_unverified_context())
            s.login("u7@example.test", os.environ["PASSWORD"])
            s.sendmail("u7@example.test", ["u8@example.test"], base64.b64decode(os.environ["MESSAGE"]))
            s.quit()
            """, env);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var bounce = await fx.WaitForAsync("u7@example.test", "Undelivered");
        var text = Encoding.UTF8.GetString((await fx.Account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(bounce.GetString("Blob")).DownloadContentAsync()).Value.Content.ToArray());
        Assert.Contains("5.7.1 message rejected as spam", text, StringComparison.Ordinal);
        Assert.DoesNotContain(RspamdProcess.GtubeReject, text, StringComparison.Ordinal); // RET=HDRS: the body is not sent back
        Assert.Empty(await fx.MessagesAsync("u8@example.test"));
        Assert.Empty(await fx.MessagesAsync("u8@example.test", "Junk"));
    }

    [Fact]
    public async Task A_virus_is_quarantined_the_recipient_gets_a_notice_and_nothing_of_it_reaches_a_mailbox()
    {
        var attachment = Convert.ToBase64String(Encoding.ASCII.GetBytes(ClamdProcess.Eicar));
        var body = "--b\r\nContent-Type: text/plain\r\n\r\nthe invoice\r\n--b\r\nContent-Type: application/octet-stream; name=\"invoice.com\"\r\n" +
            "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"invoice.com\"\r\n\r\n" + attachment + "\r\n--b--";
        await fx.SendAsync("sender@outside.test", "u4@example.test",
            ContentFixture.Message("u4@example.test", "invoice with virus", body, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n"));
        var entry = await WaitForEntryAsync(new QuarantineStore(fx.Account), "invoice with virus");
        Assert.Equal("virus", entry.Reason);
        Assert.StartsWith(ClamdProcess.SignatureName, entry.Detail, StringComparison.Ordinal);

        var notice = await fx.WaitForAsync("u4@example.test", "Message held in quarantine");
        var inbox = await fx.MessagesAsync("u4@example.test");
        Assert.Single(inbox);
        Assert.Empty(await fx.MessagesAsync("u4@example.test", "Junk"));
        var text = Encoding.UTF8.GetString((await fx.Account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(notice.GetString("Blob")).DownloadContentAsync()).Value.Content.ToArray());
        Assert.Contains("it contains a virus (" + ClamdProcess.SignatureName, text, StringComparison.Ordinal);
        Assert.Contains(entry.Id, text, StringComparison.Ordinal);
        Assert.DoesNotContain(ClamdProcess.Eicar, text, StringComparison.Ordinal);
        Assert.DoesNotContain(attachment, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_clamd_stopped_the_message_waits_and_is_delivered_once_it_is_back()
    {
        await fx.Clamd.StopAsync();
        try
        {
            await fx.SendAsync("sender@outside.test", "u5@example.test", ContentFixture.Message("u5@example.test", "while clamd is down", "Are you there?"));
            await Task.Delay(4000); // several 1-second retries
            Assert.Empty(await fx.MessagesAsync("u5@example.test"));
        }
        finally
        {
            await fx.Clamd.StartAsync(TimeSpan.FromSeconds(60));
        }
        await fx.WaitForAsync("u5@example.test", "while clamd is down");
        await Task.Delay(2000);
        Assert.Single(await fx.MessagesAsync("u5@example.test"));
    }

    [Fact]
    public async Task Moving_into_junk_teaches_rspamd_spam_and_moving_out_teaches_ham()
    {
        // Words of this run only: rspamd remembers what it learned by the message's tokens.
        var run = Guid.NewGuid().ToString("N")[..8];
        var words = string.Join(' ', Enumerable.Range(1, 40).Select(i => $"quarterly{i} figures{i}{run} meeting{i}"));
        await fx.SendAsync("sender@outside.test", "u6@example.test", ContentFixture.Message("u6@example.test", "learn me", words));
        await fx.WaitForAsync("u6@example.test", "learn me");
        var before = await fx.RspamdClient.StatsAsync(default);

        await ImapAsync("""
            m = login("u6@example.test"); m.select("INBOX")
            typ, d = m.uid("MOVE", "1:*", "Junk")
            out(k="moved", r=t(typ))
            """);
        var spam = await WaitForStatsAsync(s => s.Revisions.GetValueOrDefault("BAYES_SPAM") > before.Revisions.GetValueOrDefault("BAYES_SPAM"));
        Assert.True(spam.Learned > before.Learned);

        await ImapAsync("""
            m = login("u6@example.test"); m.select("Junk")
            typ, d = m.uid("MOVE", "1:*", "INBOX")
            out(k="moved", r=t(typ))
            """);
        await WaitForStatsAsync(s => s.Revisions.GetValueOrDefault("BAYES_HAM") > before.Revisions.GetValueOrDefault("BAYES_HAM"));
    }

    private async Task<Filtering.RspamdStats> WaitForStatsAsync(Func<Filtering.RspamdStats, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var stats = await fx.RspamdClient.StatsAsync(default);
            if (done(stats))
                return stats;
            if (DateTime.UtcNow > deadline)
            {
                async Task<string> Queue(string name) => string.Join(" | ", (await fx.Account.Queues.GetQueueClient(name).PeekMessagesAsync(5)).Value.Select(m => m.Body.ToString()));
                throw new TimeoutException($"rspamd did not learn: {JsonSerializer.Serialize(stats)}; learn: {await Queue(StorageNames.LearnQueue)}; learn-poison: {await Queue(StorageNames.Poison(StorageNames.LearnQueue))}");
            }
            await Task.Delay(250);
        }
    }

    private static async Task<QuarantineEntry> WaitForEntryAsync(QuarantineStore quarantine, string subject)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            await foreach (var e in quarantine.ListAsync())
            {
                if (e.Subject == subject)
                    return e;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"nothing held with subject '{subject}'");
    }
}
