using System.Text;
using System.Text.Json;
using Azure.Storage.Queues.Models;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FunctionalTests.Cli;
using MailCloud.FunctionalTests.Smtp;
using MailCloud.Pipeline;

namespace MailCloud.FunctionalTests.Pipeline;

/// <summary>End to end on Azurite: SMTP accept → inbound function → routing → mailbox index, through the trigger driver.</summary>
[Collection(PipelineCollection.Name)]
public sealed class PipelineTests(PipelineFixture fx)
{
    private async Task SendAsync(string from, string[] to, string subject, string extraHeaders = "")
    {
        var rcpts = string.Join(", ", to.Select(t => $"\"{t}\""));
        var r = await ExternalProcess.PythonAsync(PythonClients.Prelude + $$"""

s = smtplib.SMTP("127.0.0.1", MX, timeout=15)
s.sendmail("{{from}}", [{{rcpts}}], "From: {{from}}\r\nTo: {{to[0]}}\r\nSubject: {{subject}}\r\n{{extraHeaders}}\r\nbody of {{subject}}\r\n".encode())
s.quit()
""", fx.Env);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    /// <summary>Puts a message straight into the spool, as the SMTP front end would after its checks.</summary>
    private async Task<InboundWorkItem> SpoolAsync(string sender, string[] recipients, string message)
    {
        var now = DateTimeOffset.UtcNow;
        var id = MessageIds.New(now);
        var envelope = new Envelope
        {
            Sender = sender,
            Recipients = recipients.Select(r => new EnvelopeRecipient(r)).ToList(),
            ClientAddress = "127.0.0.1",
            Helo = "test",
            Listener = "mx",
            ReceivedAt = now,
        };
        return await new StorageMessageSpool(fx.Account).StoreAsync(id, envelope, new MemoryStream(Encoding.UTF8.GetBytes(message)), CancellationToken.None);
    }

    /// <summary>
    /// A small message comes with its work item, so the inbound stage reads no blob for it (one request fewer per
    /// message); a larger one is read from its blob once. Both are delivered byte for byte.
    /// </summary>
    [Fact]
    public async Task A_small_message_is_delivered_without_reading_its_blob_and_a_large_one_reads_it_once()
    {
        var messages = fx.Account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        foreach (var (subject, size, reads) in new[] { ("inline-small", 3000, 0), ("blob-large", StorageMessageSpool.MaxInlineContentBytes + 1000, 1) })
        {
            var body = $"Subject: {subject}\r\nMessage-ID: <{subject}@remote.example>\r\n\r\n";
            body += new string('y', size - body.Length);
            fx.Account.RequestCounter.Reset();
            var item = await SpoolAsync("carol@remote.example", ["bob@example.test"], body);
            var row = await fx.WaitForAsync("bob@example.test", subject);
            Assert.Equal(reads, fx.Account.RequestCounter.Get("blob", "GetBlob"));
            Assert.Equal(item.MessageBlob, row.GetString("Blob"));
            Assert.Equal(Encoding.UTF8.GetBytes(body), (await messages.GetBlobClient(item.MessageBlob).DownloadContentAsync()).Value.Content.ToArray());
        }
    }

    /// <summary>Without rspamd, the built-in scorer files the obvious into Junk and says why in the served headers.</summary>
    [Fact]
    public async Task The_built_in_scorer_files_a_forged_local_sender_into_junk()
    {
        await SendAsync("ceo@example.test", ["alice@example.test"], "forged-ceo", @"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <f1@x.test>\r\n");
        var row = await fx.WaitForAsync("alice@example.test", "forged-ceo", "Junk");
        var headers = Encoding.ASCII.GetString(row.GetBinary("Prefix"));
        Assert.Contains("X-Spam-Flag: YES\r\n", headers, StringComparison.Ordinal);
        Assert.Contains("engine=builtin", headers, StringComparison.Ordinal);
        Assert.Contains("FORGED_LOCAL_FROM(6.0)", headers, StringComparison.Ordinal);
        Assert.True(row.GetBoolean("Spam"));
    }

    /// <summary>A domain's own thresholds decide on the total score (here: a missing Date and Message-ID, 2.5, is junk).</summary>
    [Fact]
    public async Task A_domain_s_junk_threshold_applies_to_its_recipients()
    {
        await fx.Directory.AddDomainAsync("strict.test");
        await fx.Directory.AddUserAsync(MailAddress.Parse("sam@strict.test"), SmtpFixture.Password);
        await fx.Directory.SetSpamPolicyAsync("strict.test", new SpamPolicy(2, 50));
        Assert.Equal(new SpamPolicy(2, 50), (await fx.Directory.GetDomainAsync("strict.test"))!.Spam);
        await SendAsync("carol@remote.example", ["sam@strict.test", "alice@example.test"], "strict-policy");
        var junk = await fx.WaitForAsync("sam@strict.test", "strict-policy", "Junk");
        Assert.Contains("X-Spam-Status: Yes, score=2.5 required=2.0 engine=builtin", Encoding.ASCII.GetString(junk.GetBinary("Prefix")), StringComparison.Ordinal);
        Assert.True(junk.GetBoolean("Spam"));
        // The other recipient's domain has no thresholds of its own: INBOX at the default (5).
        var inbox = await fx.WaitForAsync("alice@example.test", "strict-policy");
        Assert.Contains("X-Spam-Status: No, score=2.5 required=5.0", Encoding.ASCII.GetString(inbox.GetBinary("Prefix")), StringComparison.Ordinal);
        Assert.False(inbox.GetBoolean("Spam"));
        await fx.Directory.SetSpamPolicyAsync("strict.test", null);
        Assert.Null((await fx.Directory.GetDomainAsync("strict.test"))!.Spam);
    }

    [Fact]
    public async Task Accepted_mail_is_indexed_with_uid_flags_size_and_summary()
    {
        var (before, _) = await TableMailboxUsage.SumAsync(fx.Mailboxes, MailAddress.Parse("alice@example.test"), default);
        await SendAsync("carol@remote.example", ["alice@example.test"], "indexed-1");
        var row = await fx.WaitForAsync("alice@example.test", "indexed-1");

        var uid = row.GetInt64("Uid")!.Value;
        Assert.True(uid >= 1);
        Assert.Equal($"msg:INBOX:{uid:D10}", row.RowKey);
        Assert.Equal(string.Empty, row.GetString("Flags"));
        var blob = await fx.Account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(row.GetString("Blob")!).GetPropertiesAsync();
        // The served message is the verdict's header lines, then the untouched blob: the size counts both.
        var prefix = row.GetBinary("Prefix");
        Assert.StartsWith($"Authentication-Results: {fx.Options.HostName};", Encoding.ASCII.GetString(prefix), StringComparison.Ordinal);
        Assert.Equal(blob.Value.ContentLength + prefix.Length, row.GetInt64("Size"));
        Assert.Contains("\"indexed-1\"", row.GetString("Envelope"), StringComparison.Ordinal);
        Assert.StartsWith("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" ", row.GetString("BodyStructure"), StringComparison.Ordinal);
        Assert.Contains("\"h\":0", row.GetString("Parts"), StringComparison.Ordinal);
        Assert.False(row.GetBoolean("Spam"));
        // Authentication-Results: SPF/DMARC could not be looked up here (no DNS server in this fixture), no DKIM signature.
        var verdict = row.GetString("Verdict")!;
        Assert.True(verdict.Contains("mx.mailcloud.test; spf=temperror smtp.mailfrom=carol@remote.example; dkim=none; dmarc=temperror header.from=remote.example", StringComparison.Ordinal), verdict);
        Assert.NotNull(row.GetDateTimeOffset("InternalDate"));

        var folder = await fx.Mailboxes.GetEntityAsync(PipelineFixture.Partition("alice@example.test"), MailboxKeys.FolderRow("INBOX"));
        Assert.True(folder.GetInt64("UidNext") > uid);
        Assert.True(folder.GetInt64("HighestModSeq") >= row.GetInt64("ModSeq"));
        var (usage, _) = await TableMailboxUsage.SumAsync(fx.Mailboxes, MailAddress.Parse("alice@example.test"), default);
        Assert.True(usage >= before + blob.Value.ContentLength);

        // Every user has the special-use folders from the first message on.
        foreach (var (name, use) in new[] { ("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"), ("Junk", "\\Junk") })
            Assert.Equal(use, (await fx.Mailboxes.GetEntityAsync(PipelineFixture.Partition("alice@example.test"), MailboxKeys.FolderRow(name))).GetString("SpecialUse"));
    }

    [Fact]
    public async Task Aliases_catch_all_and_lists_expand_with_one_copy_per_user()
    {
        await SendAsync("erin@remote.example", ["sales@example.test"], "to-sales");
        await SendAsync("erin@remote.example", ["whoever@catchall.test"], "to-catchall");
        await SendAsync("erin@remote.example", ["team@example.test", "bob@example.test"], "to-team");

        await fx.WaitForAsync("bob@example.test", "to-sales");
        await fx.WaitForAsync("bob@example.test", "to-catchall");
        await fx.WaitForAsync("bob@example.test", "to-team");
        await fx.WaitForAsync("alice@example.test", "to-team");
        // Bob was reached twice for to-team (directly and as a list member): one copy.
        Assert.Single(await fx.MessagesAsync("bob@example.test"), m => m.GetString("Subject") == "to-team");

        // Remote targets wait on the outbound queue; the list's copy goes out with the list's bounce address as sender.
        var outbound = new List<OutboundWorkItem>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline && outbound.Count(o => o.Recipients.Any(r => r.Address is "dave@remote.example" or "carol@remote.example")) < 2)
        {
            outbound = (await fx.Account.Queues.GetQueueClient(StorageNames.OutboundQueue).PeekMessagesAsync(32)).Value
                .Select(m => JsonSerializer.Deserialize<OutboundWorkItem>(m.Body.ToString(), WorkItemJson.Options)!).ToList();
            await Task.Delay(200);
        }
        var dave = outbound.Single(o => o.Recipients.Any(r => r.Address == "dave@remote.example"));
        Assert.Equal("erin@remote.example", dave.Sender);
        Assert.Equal("remote.example", dave.Domain);
        var carol = outbound.Single(o => o.Recipients.Any(r => r.Address == "carol@remote.example"));
        Assert.Equal("team-bounces@example.test", carol.Sender);
    }

    [Fact]
    public async Task Large_fan_out_goes_through_the_index_queue_and_reaches_everyone()
    {
        await SendAsync("erin@remote.example", ["everyone@example.test"], "to-everyone");
        var uids = new List<long>();
        for (int i = 1; i <= 7; i++)
            uids.Add((await fx.WaitForAsync($"member{i}@example.test", "to-everyone")).GetInt64("Uid")!.Value);
        Assert.All(uids, uid => Assert.Equal(1, uid)); // each member's first message
    }

    [Fact]
    public async Task The_same_work_item_processed_twice_yields_one_copy()
    {
        var item = await SpoolAsync("carol@remote.example", ["bob@example.test"], "Subject: twice\r\n\r\nonce only\r\n");
        await fx.WaitForAsync("bob@example.test", "twice");
        // At-least-once delivery: the same queue message again.
        await fx.Inbound.SendMessageAsync(BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(item, WorkItemJson.Options)), timeToLive: WorkQueues.NeverExpires);
        var (usageBefore, _) = await TableMailboxUsage.SumAsync(fx.Mailboxes, MailAddress.Parse("bob@example.test"), default);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline && await fx.Inbound.GetApproximateMessageCountAsync() > 0)
            await Task.Delay(200);
        await Task.Delay(500);
        Assert.Single(await fx.MessagesAsync("bob@example.test"), m => m.GetString("MessageId") == item.MessageId);
        Assert.Equal(usageBefore, (await TableMailboxUsage.SumAsync(fx.Mailboxes, MailAddress.Parse("bob@example.test"), default)).UsedBytes);
    }

    [Fact]
    public async Task The_driver_runs_the_isolated_worker_functions_by_their_trigger_attributes()
    {
        // What the driver found on PipelineFunctions: the same names and queues as functions.metadata (PublishAndHousekeepingTests).
        var triggers = fx.Driver.Triggers.ToDictionary(t => t.Function);
        Assert.Equal(StorageNames.InboundQueue, triggers["inbound"].Queue);
        Assert.Equal(StorageNames.IndexQueue, triggers["index"].Queue);
        Assert.Equal("0 30 3 * * *", triggers["housekeeping"].Schedule);
        Assert.False(triggers.ContainsKey("deliver")); // left out by this fixture

        // The timer function, fired as the host's schedule would: a fresh unreferenced blob (mail still queued) survives.
        var fresh = $"2026/12/01/fresh-{Guid.NewGuid():N}.eml";
        var messages = fx.Account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        await messages.GetBlobClient(fresh).UploadAsync(BinaryData.FromString("Subject: fresh\r\n\r\nx"));
        Assert.True(await fx.Driver.FireAsync(triggers["housekeeping"]));
        Assert.True(await messages.GetBlobClient(fresh).ExistsAsync());
    }

    [Fact]
    public async Task A_failing_work_item_is_retried_then_moved_to_the_poison_queue()
    {
        var poison = fx.Account.Queues.GetQueueClient(StorageNames.Poison(StorageNames.InboundQueue));
        var item = new InboundWorkItem
        {
            MessageId = "doesnotexist" + Guid.NewGuid().ToString("N")[..8],
            MessageBlob = "1999/01/01/missing.eml",
            Size = 1,
            Envelope = new Envelope { Sender = "", Recipients = [new EnvelopeRecipient("bob@example.test")], ClientAddress = "127.0.0.1", Helo = "x", Listener = "mx", ReceivedAt = DateTimeOffset.UtcNow },
        };
        var body = JsonSerializer.Serialize(item, WorkItemJson.Options);
        await fx.Inbound.SendMessageAsync(body);
        var deadline = DateTime.UtcNow.AddSeconds(60); // 5 attempts, 2 s apart (host.json)
        PeekedMessage? found = null;
        while (DateTime.UtcNow < deadline && found is null)
        {
            found = (await poison.PeekMessagesAsync(32)).Value.FirstOrDefault(m => m.Body.ToString().Contains(item.MessageId, StringComparison.Ordinal));
            await Task.Delay(500);
        }
        Assert.NotNull(found);
        Assert.Equal(body, found.Body.ToString()); // the operator can replay it as it was
        Assert.DoesNotContain((await fx.Inbound.PeekMessagesAsync(32)).Value, m => m.Body.ToString().Contains(item.MessageId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Mail_accepted_before_a_mailbox_filled_up_is_still_delivered()
    {
        // full@example.test is over quota: SMTP refuses new mail with 452, but what was accepted is never dropped.
        await SpoolAsync("carol@remote.example", ["full@example.test"], "Subject: accepted earlier\r\n\r\nx\r\n");
        await fx.WaitForAsync("full@example.test", "accepted earlier");
    }

    [Fact]
    public async Task Routing_loops_and_vanished_users_bounce_to_the_sender()
    {
        var received = string.Concat(Enumerable.Range(0, 31).Select(i => $"Received: from hop{i}.example by hop{i + 1}.example; Tue, 24 Nov 2026 08:00:00 +0000\r\n"));
        await SpoolAsync("alice@example.test", ["bob@example.test"], received + "Subject: looping\r\n\r\nround and round\r\n");
        var loopBounce = await fx.WaitForAsync("alice@example.test", "Undelivered Mail Returned to Sender: looping");
        Assert.DoesNotContain(await fx.MessagesAsync("bob@example.test"), m => m.GetString("Subject") == "looping");
        Assert.Contains("Mail Delivery System", loopBounce.GetString("From"), StringComparison.Ordinal);

        // A recipient that no longer exists when the message is routed (removed after accept): the sender hears (5.1.1).
        await SpoolAsync("alice@example.test", ["vanished@example.test"], "Subject: to the vanished\r\n\r\nboo\r\n");
        var bounce = await fx.WaitForAsync("alice@example.test", "Undelivered Mail Returned to Sender: to the vanished");
        var blob = (await fx.Account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(bounce.GetString("Blob")!).DownloadContentAsync()).Value.Content;
        Assert.Contains("Status: 5.1.1", blob.ToString(), StringComparison.Ordinal);
        Assert.Contains("Final-Recipient: rfc822; vanished@example.test", blob.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// Found by the fault harness: a deliver attempt killed after storing the bounce's blob but before enqueueing it
    /// left a blob that made every retry think the bounce was sent. Now the retry sends the work item again, and the
    /// sender gets the bounce once however often the deliver stage repeats.
    /// </summary>
    [Fact]
    public async Task A_bounce_stored_by_a_killed_attempt_still_reaches_the_sender_once()
    {
        var original = await SpoolAsync("alice@example.test", ["bob@example.test"], "Subject: the original\r\n\r\nbody\r\n");
        var receivedAt = original.Envelope!.ReceivedAt;
        var bounceId = "dsn" + original.MessageId + "-harness";
        var spool = fx.Account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        await spool.GetBlobClient(MessageIds.BlobPath(bounceId, receivedAt))
            .UploadAsync(BinaryData.FromString("From: Mail Delivery System <postmaster@mx.example.test>\r\nSubject: stored before the crash\r\n\r\nx\r\n"));

        var bouncer = new Bouncer(fx.Account, "mx.example.test", Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var failure = new BounceRecipient(new EnvelopeRecipient("gone@remote.example"), "5.1.1", "smtp; 550 5.1.1 no such user");
        await bouncer.BounceAsync(bounceId, "alice@example.test", "HDRS", null, receivedAt, original.MessageBlob, [failure], CancellationToken.None);
        await fx.WaitForAsync("alice@example.test", "stored before the crash");
        await bouncer.BounceAsync(bounceId, "alice@example.test", "HDRS", null, receivedAt, original.MessageBlob, [failure], CancellationToken.None);
        // The second attempt's twin work item: wait until the inbound queue has taken it, then count.
        for (var until = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < until && (await fx.Inbound.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0;)
            await Task.Delay(200);
        await Task.Delay(1000);
        Assert.Single(await fx.MessagesAsync("alice@example.test"), m => m.GetString("Subject") == "stored before the crash");
    }

    /// <summary>
    /// RFC 1047: a client that never heard our 250 (the front end died after queueing the message) sends the message
    /// again. The fault harness saw that as duplicates; the second copy from the same sender with the same
    /// Message-ID and the same look is now left out, while the same Message-ID from another sender (a list's copy),
    /// or on a different message, still arrives.
    /// </summary>
    [Fact]
    public async Task A_resent_message_is_delivered_once_but_another_senders_copy_is_not_suppressed()
    {
        const string id = @"Message-ID: <resend-test-1@remote.example>\r\n"; // python source text: the escapes are python's
        await SendAsync("carol@remote.example", ["bob@example.test"], "resent once", id);
        await fx.WaitForAsync("bob@example.test", "resent once");
        await SendAsync("carol@remote.example", ["bob@example.test"], "resent once", id);
        await SendAsync("dave@remote.example", ["bob@example.test"], "resent once", id);
        await SendAsync("carol@remote.example", ["bob@example.test"], "resent once, but another message", id); // the Message-ID reused
        for (var until = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < until && (await fx.MessagesAsync("bob@example.test")).Count(m => m.GetString("Subject")!.StartsWith("resent once", StringComparison.Ordinal)) < 3;)
            await Task.Delay(200);
        for (var until = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < until && (await fx.Inbound.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0;)
            await Task.Delay(200);
        await Task.Delay(1000);
        var copies = (await fx.MessagesAsync("bob@example.test")).Where(m => m.GetString("Subject") == "resent once").ToList();
        Assert.Equal(2, copies.Count); // carol's (once) and dave's
        Assert.Single(await fx.MessagesAsync("bob@example.test"), m => m.GetString("Subject") == "resent once, but another message");
    }

    /// <summary>
    /// An item that failed five times (an outage, a bug since fixed) waits in inbound-poison; the operator looks at it
    /// and replays it with the CLI. It is delivered once, even though a twin of it was in the poison queue too.
    /// </summary>
    [Fact]
    public async Task A_poisoned_item_replayed_with_the_cli_is_delivered_exactly_once()
    {
        var now = DateTimeOffset.UtcNow;
        var id = MessageIds.New(now);
        var blob = MessageIds.BlobPath(id, now);
        var messages = fx.Account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        await messages.GetBlobClient(blob).UploadAsync(BinaryData.FromString("From: carol@remote.example\r\nSubject: replayed from poison\r\nMessage-ID: <poison-1@remote.example>\r\n\r\nit waited\r\n"));
        var item = new InboundWorkItem
        {
            MessageId = id,
            MessageBlob = blob,
            Size = 90,
            Envelope = new Envelope { Sender = "carol@remote.example", Recipients = [new EnvelopeRecipient("bob@example.test")], ClientAddress = "127.0.0.1", Helo = "x", Listener = "mx", ReceivedAt = now },
        };
        var poison = fx.Account.Queues.GetQueueClient(StorageNames.Poison(StorageNames.InboundQueue));
        var json = JsonSerializer.Serialize(item, WorkItemJson.Options);
        await poison.SendMessageAsync(json);
        await poison.SendMessageAsync(json); // a twin: the item had been enqueued twice before it failed
        var env = new Dictionary<string, string> { ["MAILCLOUD_STORAGE"] = fx.Azurite.ConnectionString };

        var list = await MailCloudToolTests.RunAsync(env, null, "queue", "list");
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Matches(@"inbound-poison\s+[1-9]\d*", list.Stdout);
        var show = await MailCloudToolTests.RunAsync(env, null, "queue", "show", "inbound-poison");
        Assert.Contains($"message {id}  blob {blob}", show.Stdout, StringComparison.Ordinal);

        var replay = await MailCloudToolTests.RunAsync(env, null, "queue", "replay", "inbound-poison", "--id", id);
        Assert.True(replay.ExitCode == 0, replay.Stderr);
        Assert.Contains("replayed 2 item(s) from inbound-poison into inbound", replay.Stdout, StringComparison.Ordinal);
        await fx.WaitForAsync("bob@example.test", "replayed from poison");
        for (var until = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < until && (await fx.Inbound.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0;)
            await Task.Delay(200);
        await Task.Delay(1000);
        Assert.Single(await fx.MessagesAsync("bob@example.test"), m => m.GetString("Subject") == "replayed from poison");
        Assert.DoesNotContain((await poison.PeekMessagesAsync(32)).Value, m => m.Body.ToString().Contains(id, StringComparison.Ordinal));

        // Nothing left to replay: the tool says so and fails.
        var again = await MailCloudToolTests.RunAsync(env, null, "queue", "replay", "inbound-poison", "--id", id);
        Assert.Equal(1, again.ExitCode);

        // A poisoned item nobody wants: deleted, and with --remove-message its unreferenced blob too.
        var junkBlob = MessageIds.BlobPath("junk" + id, now);
        await messages.GetBlobClient(junkBlob).UploadAsync(BinaryData.FromString("Subject: junk\r\n\r\nx\r\n"));
        await poison.SendMessageAsync(JsonSerializer.Serialize(item with { MessageId = "junk" + id, MessageBlob = junkBlob }, WorkItemJson.Options));
        var delete = await MailCloudToolTests.RunAsync(env, null, "queue", "delete", "inbound-poison", "junk" + id, "--remove-message");
        Assert.True(delete.ExitCode == 0, delete.Stderr);
        Assert.Contains($"deleted {junkBlob}", delete.Stdout, StringComparison.Ordinal);
        Assert.False((await messages.GetBlobClient(junkBlob).ExistsAsync()).Value);
        // The delivered message's blob is referenced by bob's mailbox: --remove-message keeps it.
        await poison.SendMessageAsync(json);
        var keep = await MailCloudToolTests.RunAsync(env, null, "queue", "delete", "inbound-poison", id, "--remove-message");
        Assert.Contains($"kept {blob}: a mailbox entry refers to it", keep.Stdout, StringComparison.Ordinal);
        Assert.True((await messages.GetBlobClient(blob).ExistsAsync()).Value);
    }
}
