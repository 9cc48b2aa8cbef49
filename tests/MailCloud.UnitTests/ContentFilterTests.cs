using System.Text;
using System.Text.Json;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Filtering;
using MailCloud.Mime;
using MailCloud.Pipeline;
using MailCloud.Pipeline.Content;
using MailCloud.UnitTests.Sessions;

namespace MailCloud.UnitTests;

/// <summary>The spam/virus decisions without engines: how verdicts map to folders, the built-in scorer, the engines' wire formats.</summary>
public sealed class ContentFilterTests
{
    private static Verdict Rspamd(string action, double score, double own = 0) =>
        new() { Engine = "rspamd", EngineAction = action, EngineScore = score, SpamScore = score + own };

    [Theory]
    [InlineData("no action", 2, 0, Disposition.Inbox)]
    [InlineData("greylist", 4, 0, Disposition.Inbox)]
    [InlineData("add header", 6, 0, Disposition.Junk)]
    [InlineData("rewrite subject", 8, 0, Disposition.Junk)]
    [InlineData("soft reject", 9, 0, Disposition.Junk)]
    [InlineData("reject", 15, 0, Disposition.Quarantine)]
    [InlineData("no action", 1, 10, Disposition.Junk)] // DMARC failure under p=reject, whatever rspamd thought
    public void Without_domain_thresholds_rspamd_s_action_decides(string action, double score, double own, Disposition expected) =>
        Assert.Equal(expected, SpamDecision.Decide(Rspamd(action, score, own), null));

    [Fact]
    public void Domain_thresholds_apply_to_the_total_score()
    {
        var policy = new SpamPolicy(3, 9);
        Assert.Equal(Disposition.Inbox, SpamDecision.Decide(Rspamd("no action", 2.9), policy));
        Assert.Equal(Disposition.Junk, SpamDecision.Decide(Rspamd("no action", 3), policy));
        Assert.Equal(Disposition.Junk, SpamDecision.Decide(Rspamd("reject", 8.5), policy));
        Assert.Equal(Disposition.Quarantine, SpamDecision.Decide(Rspamd("add header", 9), policy));
        Assert.Equal(Disposition.Junk, SpamDecision.Decide(new Verdict { SpamScore = 100 }, new SpamPolicy(5)));
        Assert.Equal(Disposition.Junk, SpamDecision.Decide(new Verdict { SpamScore = 5 }, null)); // built-in default
        Assert.Equal(Disposition.Inbox, SpamDecision.Decide(new Verdict { SpamScore = 4.9 }, null));
        Assert.Throws<DirectoryException>(() => SpamPolicy.Validate(new SpamPolicy(5, 4)));
        Assert.Throws<DirectoryException>(() => SpamPolicy.Validate(new SpamPolicy(double.NaN)));
    }

    private static MessageContext Context(string message, string listener = "mx", string? user = null, int recipients = 1) =>
        new(new InboundWorkItem { MessageId = "m1", MessageBlob = "b", Size = message.Length },
            new Envelope
            {
                Sender = "someone@outside.test",
                Recipients = Enumerable.Range(0, recipients).Select(i => new EnvelopeRecipient($"u{i}@example.test")).ToList(),
                ClientAddress = "203.0.113.9",
                Helo = "outside.test",
                Listener = listener,
                AuthenticatedUser = user,
                ReceivedAt = DateTimeOffset.UnixEpoch,
            },
            MimeParser.Parse(Encoding.UTF8.GetBytes(message)));

    private const string Tidy = "From: a@outside.test\r\nTo: bob@example.test\r\nSubject: lunch\r\nDate: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <1@outside.test>\r\n\r\nhi\r\n";

    [Fact]
    public async Task The_built_in_scorer_catches_the_obvious_and_leaves_tidy_mail_alone()
    {
        var directory = new InMemoryDirectory();
        directory.AddUser("bob@example.test", "x");
        var check = new HeuristicCheck(directory);

        var tidy = await check.CheckAsync(Context(Tidy), default);
        Assert.Equal(0, tidy.SpamScore);

        var bare = await check.CheckAsync(Context("From: a@outside.test\r\nTo: bob@example.test\r\n\r\nbuy\r\n"), default);
        Assert.Equal(HeuristicCheck.MissingDate + HeuristicCheck.MissingMessageId + HeuristicCheck.EmptySubject, bare.SpamScore);
        Assert.Contains("MISSING_MID(1.5)", bare.Symbols);

        var forged = await check.CheckAsync(Context(Tidy.Replace("From: a@outside.test", "From: Boss <boss@example.test>", StringComparison.Ordinal)), default);
        Assert.Contains("FORGED_LOCAL_FROM(6.0)", forged.Symbols);
        var aligned = Context(Tidy.Replace("From: a@outside.test", "From: boss@example.test", StringComparison.Ordinal));
        aligned.Add(new CheckResult("auth", AuthenticationResult: "spf=none smtp.mailfrom=x@outside.test; dkim=pass header.d=example.test header.s=mc1 header.a=rsa-sha256"));
        Assert.Equal(0, (await check.CheckAsync(aligned, default)).SpamScore);

        var exe = Tidy.Replace("\r\n\r\nhi\r\n", "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nsee\r\n--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"invoice.pdf.exe\"\r\n\r\nMZ\r\n--x--\r\n", StringComparison.Ordinal);
        Assert.Contains("EXECUTABLE_ATTACHMENT(6.0)", (await check.CheckAsync(Context(exe), default)).Symbols);
        Assert.Contains("MANY_RECIPIENTS(2.0)", (await check.CheckAsync(Context(Tidy, recipients: 60), default)).Symbols);

        // Submissions are the users' own mail: not scored.
        Assert.Equal(0, (await check.CheckAsync(Context("From: a@outside.test\r\n\r\nx\r\n", "submission", "bob@example.test"), default)).SpamScore);
        Assert.Equal(["pdf", "exe"], HeuristicCheck.Extensions("invoice.pdf.exe. "));
        Assert.Empty(HeuristicCheck.Extensions("README"));
    }

    [Fact]
    public async Task The_filter_folds_engine_results_into_one_verdict()
    {
        var filter = MessageFilter.Default("mx.test", new Fixed(new CheckResult("auth", 10, AuthenticationResult: "dmarc=fail")),
            new Fixed(new CheckResult("rspamd", 6.5) { Engine = "rspamd", Action = "add header", Symbols = ["GTUBE(0.0)"] }),
            new Fixed(new CheckResult("clamd") { VirusScan = "clean" }));
        var verdict = await filter.EvaluateAsync(Context(Tidy), default);
        Assert.Equal(16.5, verdict.SpamScore);
        Assert.Equal(6.5, verdict.EngineScore);
        Assert.Equal("add header", verdict.EngineAction);
        Assert.Equal("mx.test; dmarc=fail", verdict.AuthenticationResults);
        Assert.Equal("clean", verdict.VirusScan);
        Assert.True(verdict.Spam);
        // The verdict survives the index work item's JSON.
        var back = JsonSerializer.Deserialize<Verdict>(JsonSerializer.Serialize(verdict, WorkItemJson.Options), WorkItemJson.Options)!;
        Assert.Equal(verdict.Symbols, back.Symbols);
        Assert.Equal(verdict.EngineAction, back.EngineAction);
    }

    private sealed class Fixed(CheckResult result) : IMessageCheck
    {
        public Task<CheckResult> CheckAsync(MessageContext context, CancellationToken cancellationToken) => Task.FromResult(result);
    }

    [Fact]
    public void Engine_answers_are_read_as_their_protocols_define()
    {
        Assert.Equal(new ClamdResult(false, "Win.Test.EICAR_HDB-1", 68, false), ClamdClient.Interpret("stream: Win.Test.EICAR_HDB-1 FOUND", 68, false));
        Assert.True(ClamdClient.Interpret("stream: OK", 10, true).Clean);
        Assert.Throws<EngineUnavailableException>(() => ClamdClient.Interpret("INSTREAM size limit exceeded. ERROR", 10, false));
        Assert.Throws<EngineUnavailableException>(() => ClamdClient.Interpret(string.Empty, 0, false));
        Assert.Equal("127.0.0.1:3310", ClamdClient.ParseEndPoint("127.0.0.1:3310").ToString());
        Assert.IsType<System.Net.Sockets.UnixDomainSocketEndPoint>(ClamdClient.ParseEndPoint("unix:/run/clamav/clamd.ctl"));
        Assert.Throws<FormatException>(() => ClamdClient.ParseEndPoint("clamd"));

        using var doc = JsonDocument.Parse("""{"is_skipped":false,"score":7.3,"required_score":15.0,"action":"add header","symbols":{"RDNS_NONE":{"name":"RDNS_NONE","score":1.0},"HFILTER_HOSTNAME_UNKNOWN":{"name":"HFILTER_HOSTNAME_UNKNOWN","score":2.5,"options":["x"]},"ARC_NA":{"name":"ARC_NA","score":0.0}},"messages":{"smtp_message":"hello"}}""");
        var r = RspamdClient.Parse(doc.RootElement);
        Assert.Equal("add header", r.Action);
        Assert.Equal(7.3, r.Score);
        Assert.Equal(["HFILTER_HOSTNAME_UNKNOWN", "RDNS_NONE", "ARC_NA"], r.Symbols.Select(s => s.Name));
        Assert.Equal("hello", r.Message);
    }

    [Theory]
    [InlineData(false, @"\Junk", true)]
    [InlineData(true, null, false)]
    [InlineData(true, @"\Archive", false)]
    [InlineData(true, @"\Trash", null)]
    [InlineData(true, @"\Junk", null)]
    [InlineData(false, @"\Trash", null)]
    [InlineData(false, null, null)]
    public void Moves_into_and_out_of_junk_teach_spam_and_ham(bool fromJunk, string? to, bool? expected) =>
        Assert.Equal(expected, JunkMoves.Judgement(fromJunk, to));

    [Fact]
    public async Task A_prefixed_read_is_the_prefix_then_the_blob_at_every_offset()
    {
        var store = new InMemoryMailStore();
        var blob = Encoding.ASCII.GetBytes("Subject: x\r\n\r\n0123456789");
        await store.WriteAsync("b", blob);
        var prefix = Encoding.ASCII.GetBytes("X-A: 1\r\n");
        byte[] whole = [.. prefix, .. blob];
        for (int offset = 0; offset <= whole.Length; offset++)
        {
            foreach (int? length in new int?[] { null, 0, 1, 3, 8, whole.Length - offset })
            {
                if (length > whole.Length - offset)
                    continue;
                await using var s = await store.OpenReadAsync("b", prefix, offset, length);
                var got = new MemoryStream();
                await s.CopyToAsync(got);
                Assert.Equal(whole.AsSpan(offset, length ?? whole.Length - offset).ToArray(), got.ToArray());
            }
        }
        Assert.Equal(whole, await store.ReadAllAsync("b", prefix));
    }
}
