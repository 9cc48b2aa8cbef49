using System.Text.Json;
using System.Text.RegularExpressions;

namespace MailCloud.FunctionalTests.Smtp;

/// <summary>The SMTP front end driven by real clients: python3 smtplib, raw sockets, swaks and curl.</summary>
[Collection(SmtpCollection.Name)]
public sealed partial class SmtpTests(SmtpFixture smtp)
{
    [GeneratedRegex(@"queued as ([0-9a-z]+)")]
    private static partial Regex QueuedAs();

    private async Task<List<JsonElement>> PythonAsync(string body)
    {
        var r = await ExternalProcess.PythonAsync(PythonClients.Prelude + "\n" + body, smtp.Env);
        Assert.True(r.ExitCode == 0, $"python failed: {r.Stderr}\n{r.Stdout}");
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    private static string Id(string reply) => QueuedAs().Match(reply) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException($"no id in '{reply}'");

    private static string S(JsonElement e, string name) => e.GetProperty(name).ToString();

    [Fact]
    public async Task Mx_accepts_local_mail_and_stores_blob_and_work_item_before_250()
    {
        var r = await PythonAsync("""
s = smtplib.SMTP("127.0.0.1", MX, timeout=15)
s.ehlo("sender.example")
s.mail("carol@remote.example")
s.rcpt("alice@example.test")
code, resp = s.data(b"From: carol@remote.example\r\nTo: alice@example.test\r\nSubject: hello\r\n\r\nline one\r\n.leading dot\r\n..two dots\r\n")
out(code=code, resp=text(resp))
s.quit()
""");
        Assert.Equal(250, r[0].GetProperty("code").GetInt32());
        var (item, envelope) = await smtp.TakeWorkItemAsync(Id(S(r[0], "resp")));

        Assert.Equal("carol@remote.example", envelope.Sender);
        Assert.Equal(["alice@example.test"], envelope.Recipients.Select(x => x.Address));
        Assert.Equal("sender.example", envelope.Helo);
        Assert.Equal("127.0.0.1", envelope.ClientAddress);
        Assert.Equal("mx", envelope.Listener);
        Assert.Null(envelope.Tls);
        Assert.Null(envelope.AuthenticatedUser);

        var stored = await smtp.ReadMessageAsync(item);
        Assert.StartsWith("Received: from sender.example ([127.0.0.1])\r\n\tby mx.mailcloud.test (MailCloud) with ESMTP id " + item.MessageId, stored, StringComparison.Ordinal);
        Assert.Contains("\r\n\tfor <alice@example.test>; ", stored, StringComparison.Ordinal);
        // smtplib dot-stuffs; the server must unstuff exactly once.
        Assert.EndsWith("\r\nFrom: carol@remote.example\r\nTo: alice@example.test\r\nSubject: hello\r\n\r\nline one\r\n.leading dot\r\n..two dots\r\n", stored, StringComparison.Ordinal);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(stored), item.Size);
        Assert.StartsWith($"{item.MessageId[..4]}/{item.MessageId[4..6]}/{item.MessageId[6..8]}/", item.MessageBlob, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Starttls_and_smtputf8_are_recorded_in_envelope_and_trace()
    {
        var r = await PythonAsync("""
s = smtplib.SMTP("127.0.0.1", MX, timeout=15)
s.ehlo("sender.example")
out(step="ehlo", features=list(s.esmtp_features.keys()))
s.starttls(context=ctx)
s.ehlo("sender.example")
out(step="ehlo-tls", features=list(s.esmtp_features.keys()))
s.mail("jörg@remote.example", ["SMTPUTF8", "BODY=8BITMIME"])
s.rcpt("δοκιμή@example.test")
code, resp = s.data("Subject: Grüße\r\n\r\nHallo δοκιμή\r\n".encode("utf-8"))
out(step="data", code=code, resp=text(resp))
s.quit()
""");
        Assert.Contains("starttls", r[0].GetProperty("features").EnumerateArray().Select(x => x.GetString()));
        Assert.DoesNotContain("auth", r[0].GetProperty("features").EnumerateArray().Select(x => x.GetString())); // AUTH only after TLS
        Assert.Contains("auth", r[1].GetProperty("features").EnumerateArray().Select(x => x.GetString()));
        Assert.DoesNotContain("starttls", r[1].GetProperty("features").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(250, r[2].GetProperty("code").GetInt32());
        var (item, envelope) = await smtp.TakeWorkItemAsync(Id(S(r[2], "resp")));
        Assert.True(envelope.SmtpUtf8);
        Assert.Equal("8BITMIME", envelope.Body);
        Assert.Equal("jörg@remote.example", envelope.Sender);
        Assert.Equal("δοκιμή@example.test", envelope.Recipients[0].Address);
        Assert.NotNull(envelope.Tls);
        Assert.StartsWith("TLSv1.", envelope.Tls!.Protocol, StringComparison.Ordinal);
        var stored = await smtp.ReadMessageAsync(item);
        Assert.Contains("with UTF8SMTPS id", stored, StringComparison.Ordinal);
        Assert.Contains("(using TLSv1.", stored, StringComparison.Ordinal);
        Assert.EndsWith("Subject: Grüße\r\n\r\nHallo δοκιμή\r\n", stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submission_requires_auth_and_owned_sender_then_relays()
    {
        var r = await PythonAsync("""
s = smtplib.SMTP("127.0.0.1", SUB, timeout=15)
s.ehlo("laptop")
out(step="plain-features", features=list(s.esmtp_features.keys()))
out(step="auth-before-tls", r=r(s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice@example.test\0" + PW.encode()).decode())))
out(step="mail-no-auth", r=r(s.docmd("MAIL", "FROM:<alice@example.test>")))
s.starttls(context=ctx); s.ehlo("laptop")
out(step="mail-no-auth-tls", r=r(s.docmd("MAIL", "FROM:<alice@example.test>")))
s.login("alice@example.test", PW)   # smtplib picks PLAIN
out(step="not-owned", r=r(s.docmd("MAIL", "FROM:<bob@example.test>")))
out(step="alias-owned", r=r(s.docmd("MAIL", "FROM:<postmaster@example.test>")))
s.rset()
s.mail("alice@example.test"); s.rcpt("friend@elsewhere.example")
code, resp = s.data(b"Subject: out\r\n\r\nrelayed\r\n")
out(step="relay", code=code, resp=text(resp))
s.quit()
s = smtplib.SMTP_SSL("127.0.0.1", SUBS, timeout=15, context=ctx)
s.ehlo("laptop")
s.user, s.password = "alice@example.test", PW
out(step="login", r=r(s.auth("LOGIN", s.auth_login, initial_response_ok=False)))
s.mail("alice@example.test"); s.rcpt("friend@elsewhere.example")
code, resp = s.data(b"Subject: out465\r\n\r\nrelayed\r\n")
out(step="relay465", code=code, resp=text(resp))
s.quit()
""");
        Assert.DoesNotContain("auth", r[0].GetProperty("features").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(538, r[1].GetProperty("r")[0].GetInt32());
        Assert.Equal(530, r[2].GetProperty("r")[0].GetInt32());
        Assert.StartsWith("5.7.0", r[2].GetProperty("r")[1].GetString(), StringComparison.Ordinal);
        Assert.Equal(530, r[3].GetProperty("r")[0].GetInt32());
        Assert.Equal(553, r[4].GetProperty("r")[0].GetInt32());
        Assert.StartsWith("5.7.1", r[4].GetProperty("r")[1].GetString(), StringComparison.Ordinal);
        Assert.Equal(250, r[5].GetProperty("r")[0].GetInt32());
        Assert.Equal(250, r[6].GetProperty("code").GetInt32());
        Assert.Equal(235, r[7].GetProperty("r")[0].GetInt32());
        Assert.Equal(250, r[8].GetProperty("code").GetInt32());

        var (item, envelope) = await smtp.TakeWorkItemAsync(Id(S(r[8], "resp")));
        Assert.Equal("alice@example.test", envelope.AuthenticatedUser);
        Assert.Equal("submission", envelope.Listener);
        Assert.Equal("friend@elsewhere.example", envelope.Recipients[0].Address);
        Assert.Contains("with ESMTPSA id", await smtp.ReadMessageAsync(item), StringComparison.Ordinal);
        await smtp.TakeWorkItemAsync(Id(S(r[6], "resp")));
    }

    [Fact]
    public async Task Scram_sha_256_authenticates_with_server_signature()
    {
        var r = await PythonAsync("""
s = smtplib.SMTP_SSL("127.0.0.1", SUBS, timeout=15, context=ctx)
s.ehlo("laptop")
code, resp = scram_login(s, "bob@example.test", PW)
out(code=code, resp=resp)
s.quit()
""");
        Assert.Equal(235, r[0].GetProperty("code").GetInt32());
        Assert.EndsWith("server-verified", S(r[0], "resp"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mx_is_not_an_open_relay_whatever_the_address_tricks()
    {
        var r = await PythonAsync("""
c = Raw(MX)
c.cmd("EHLO attacker.example")
c.cmd("MAIL FROM:<spammer@attacker.example>")
for rcpt in ["victim@elsewhere.example", "victim%elsewhere.example@example.test", "elsewhere.example!victim@example.test",
             "\"victim@elsewhere.example\"@example.test", "@example.test:victim@elsewhere.example", "victim@elsewhere.example@example.test",
             "nobody@example.test"]:
    out(rcpt=rcpt, reply=c.cmd("RCPT TO:<" + rcpt + ">"))
out(rcpt="DATA", reply=c.cmd("DATA"))
c.cmd("QUIT"); c.close()
""");
        string Reply(string rcpt) => S(r.Single(x => S(x, "rcpt") == rcpt), "reply");
        Assert.StartsWith("550 5.7.1", Reply("victim@elsewhere.example"), StringComparison.Ordinal);
        Assert.StartsWith("501 5.1.3", Reply("victim%elsewhere.example@example.test"), StringComparison.Ordinal);
        Assert.StartsWith("501 5.1.3", Reply("elsewhere.example!victim@example.test"), StringComparison.Ordinal);
        Assert.StartsWith("501 5.1.3", Reply("\"victim@elsewhere.example\"@example.test"), StringComparison.Ordinal);
        Assert.StartsWith("550 5.7.1", Reply("@example.test:victim@elsewhere.example"), StringComparison.Ordinal); // route ignored, final mailbox judged
        Assert.StartsWith("501 5.1.3", Reply("victim@elsewhere.example@example.test"), StringComparison.Ordinal);
        Assert.StartsWith("550 5.1.1", Reply("nobody@example.test"), StringComparison.Ordinal);
        Assert.StartsWith("503 5.5.1", Reply("DATA"), StringComparison.Ordinal); // no recipient was accepted
    }

    /// <summary>More disguises of a remote recipient: case, trailing dots, look-alike and punycode domains, the null sender.</summary>
    [Fact]
    public async Task Mx_relays_nothing_for_case_dot_idn_or_null_sender_tricks()
    {
        var r = await PythonAsync("""
tricks = ["VICTIM@ELSEWHERE.EXAMPLE", "victim@elsewhere.example.", "victim@Elsewhere.Example..", "victim@example.test.elsewhere.example",
          "victim@xn--exmple-4nf.test", "victim@exаmple.test", "victim@[127.0.0.1]", "victim@[IPv6:::1]", "victim@localhost", "\"victim\"@elsewhere.example"]
# A session per trick: ten refusals in one session would end it (the error limit), which is no test of the next trick.
for sender, smtputf8 in (("spammer@attacker.example", False), ("", False), ("spammer@attacker.example", True)):
    for rcpt in tricks:
        c = Raw(MX)
        c.cmd("EHLO attacker.example")
        c.cmd("MAIL FROM:<%s>%s" % (sender, " SMTPUTF8" if smtputf8 else ""))
        c.send(("RCPT TO:<" + rcpt + ">\r\n").encode("utf-8"))
        out(k="rcpt", sender=sender, utf8=smtputf8, rcpt=rcpt, reply=c.reply())
        out(k="data", sender=sender, utf8=smtputf8, reply=c.cmd("DATA"))
        c.cmd("QUIT"); c.close()
""");
        var rcpts = r.Where(x => S(x, "k") == "rcpt").ToList();
        Assert.Equal(30, rcpts.Count);
        foreach (var x in rcpts)
            Assert.Matches(@"^5\d\d ", S(x, "reply")); // refused for good, never 250 and never a "try later"
        Assert.All(r.Where(x => S(x, "k") == "data"), x => Assert.StartsWith("503", S(x, "reply"), StringComparison.Ordinal));
        // Local addresses still work in any case with a trailing dot and from the null sender (bounces must get in).
        var local = await PythonAsync("""
c = Raw(MX)
c.cmd("EHLO bounce.example")
c.cmd("MAIL FROM:<>")
out(k="upper", reply=c.cmd("RCPT TO:<ALICE@EXAMPLE.TEST>"))
c.cmd("QUIT"); c.close()
""");
        Assert.StartsWith("250", S(local.Single(), "reply"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recipient_limits_quota_and_dsn_parameters()
    {
        var r = await PythonAsync("""
c = Raw(MX)
c.cmd("EHLO sender.example")
out(k="mail", reply=c.cmd("MAIL FROM:<carol@remote.example> RET=HDRS ENVID=abc+2Bdef SIZE=1000"))
out(k="full", reply=c.cmd("RCPT TO:<full@example.test>"))
out(k="dsn", reply=c.cmd("RCPT TO:<alice@example.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;alice@example.test"))
out(k="badnotify", reply=c.cmd("RCPT TO:<bob@example.test> NOTIFY=SOMETIMES"))
out(k="unknownparam", reply=c.cmd("RCPT TO:<bob@example.test> FOO=BAR"))
out(k="alias", reply=c.cmd("RCPT TO:<Postmaster@Example.TEST>"))
out(k="data", reply=c.cmd("DATA"))
c.send("Subject: dsn\r\n\r\nbody\r\n.\r\n")
out(k="end", reply=c.reply())
out(k="toobig", reply=c.cmd("MAIL FROM:<carol@remote.example> SIZE=999999999"))
c.cmd("QUIT"); c.close()

s = smtplib.SMTP_SSL("127.0.0.1", SUBS, timeout=15, context=ctx)
s.login("alice@example.test", PW)
s.mail("alice@example.test")
for i in range(6):
    out(k="rcpt%d" % i, reply=r(s.rcpt("r%d@elsewhere.example" % i)))
s.quit()
""");
        string Reply(string k) => r.Single(x => S(x, "k") == k).GetProperty("reply").ToString();
        Assert.StartsWith("250 2.1.0", Reply("mail"), StringComparison.Ordinal);
        Assert.StartsWith("452 4.2.2", Reply("full"), StringComparison.Ordinal);
        Assert.StartsWith("250 2.1.5", Reply("dsn"), StringComparison.Ordinal);
        Assert.StartsWith("501 5.5.4", Reply("badnotify"), StringComparison.Ordinal);
        Assert.StartsWith("555 5.5.4", Reply("unknownparam"), StringComparison.Ordinal);
        Assert.StartsWith("250 2.1.5", Reply("alias"), StringComparison.Ordinal);
        Assert.StartsWith("354", Reply("data"), StringComparison.Ordinal);
        Assert.StartsWith("250 2.0.0", Reply("end"), StringComparison.Ordinal);
        Assert.StartsWith("552 5.3.4", Reply("toobig"), StringComparison.Ordinal);
        for (int i = 0; i < 5; i++)
            Assert.StartsWith("[250", Reply($"rcpt{i}"), StringComparison.Ordinal);
        Assert.StartsWith("[452, \"4.5.3", Reply("rcpt5"), StringComparison.Ordinal);

        var (_, envelope) = await smtp.TakeWorkItemAsync(Id(Reply("end")));
        Assert.Equal("HDRS", envelope.Ret);
        Assert.Equal("abc+def", envelope.EnvId);
        var alice = envelope.Recipients.Single(x => x.Address == "alice@example.test");
        Assert.Equal("FAILURE,DELAY", alice.Notify);
        Assert.Equal("rfc822;alice@example.test", alice.OriginalRecipient);
        Assert.Contains(envelope.Recipients, x => string.Equals(x.Address, "Postmaster@example.test", StringComparison.Ordinal)); // local part kept as given
    }

    [Fact]
    public async Task Pipelined_commands_and_bdat_chunks_work_byte_exact()
    {
        var r = await PythonAsync("""
c = Raw(MX)
c.cmd("EHLO pipeliner.example")
# One write: the whole transaction up to DATA (RFC 2920).
c.send("MAIL FROM:<carol@remote.example>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
out(k="pipelined", reply=[c.reply() for _ in range(5)])
c.send("Subject: piped\r\n\r\nbody\r\n.\r\n")
out(k="piped-end", reply=c.reply())
# CHUNKING: two chunks, the second LAST, bytes sent with the command.
c.send("MAIL FROM:<carol@remote.example> BODY=BINARYMIME\r\nRCPT TO:<alice@example.test>\r\n")
out(k="bdat-setup", reply=[c.reply(), c.reply()])
part1 = b"Subject: chunked\r\n\r\n.not stuffed\r\n"
part2 = b"\x00\xffbinary\r\n.\r\n"
c.send(b"BDAT %d\r\n" % len(part1) + part1)
out(k="bdat1", reply=c.reply())
c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
out(k="bdat2", reply=c.reply())
# A BDAT refused for sequence still has its bytes read and discarded; the session goes on.
c.send(b"BDAT 5\r\nhello")
out(k="bdat-bad", reply=c.reply())
out(k="noop", reply=c.cmd("NOOP"))
# DATA with BINARYMIME is refused.
c.cmd("MAIL FROM:<carol@remote.example> BODY=BINARYMIME"); c.cmd("RCPT TO:<alice@example.test>")
out(k="binary-data", reply=c.cmd("DATA"))
c.cmd("QUIT"); c.close()
""");
        string Reply(string k) => r.Single(x => S(x, "k") == k).GetProperty("reply").ToString();
        var piped = r.Single(x => S(x, "k") == "pipelined").GetProperty("reply").EnumerateArray().Select(x => x.GetString()!).ToList();
        Assert.StartsWith("250 2.1.0", piped[0], StringComparison.Ordinal);
        Assert.StartsWith("250 2.1.5", piped[1], StringComparison.Ordinal);
        Assert.StartsWith("550 5.1.1", piped[2], StringComparison.Ordinal);
        Assert.StartsWith("250 2.1.5", piped[3], StringComparison.Ordinal);
        Assert.StartsWith("354", piped[4], StringComparison.Ordinal);
        var (pipedItem, pipedEnvelope) = await smtp.TakeWorkItemAsync(Id(Reply("piped-end")));
        Assert.Equal(["alice@example.test", "bob@example.test"], pipedEnvelope.Recipients.Select(x => x.Address));
        Assert.False(pipedEnvelope.Chunked);
        Assert.DoesNotContain("\tfor <", await smtp.ReadMessageAsync(pipedItem), StringComparison.Ordinal); // several recipients: no "for"

        Assert.StartsWith("250 2.0.0 ", Reply("bdat1"), StringComparison.Ordinal);
        Assert.StartsWith("250 2.0.0 Ok: queued as", Reply("bdat2"), StringComparison.Ordinal);
        var (item, envelope) = await smtp.TakeWorkItemAsync(Id(Reply("bdat2")));
        Assert.Equal("BINARYMIME", envelope.Body);
        Assert.True(envelope.Chunked);
        var blob = (await smtp.Account.Blobs.GetBlobContainerClient("messages").GetBlobClient(item.MessageBlob).DownloadContentAsync()).ToArray();
        var expectedTail = "Subject: chunked\r\n\r\n.not stuffed\r\n"u8.ToArray().Concat(new byte[] { 0, 0xff }).Concat("binary\r\n.\r\n"u8.ToArray()).ToArray();
        Assert.Equal(expectedTail, blob[^expectedTail.Length..]);

        Assert.StartsWith("503 5.5.1", Reply("bdat-bad"), StringComparison.Ordinal);
        Assert.StartsWith("250", Reply("noop"), StringComparison.Ordinal);
        Assert.StartsWith("503 5.5.1", Reply("binary-data"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_input_gets_rfc_codes_and_the_session_goes_on_until_too_many_errors()
    {
        var r = await PythonAsync("""
c = Raw(MX)
out(k="helo-missing", reply=c.cmd("HELO"))
out(k="rcpt-first", reply=c.cmd("RCPT TO:<alice@example.test>"))
c.cmd("EHLO x.example")
out(k="garbage", reply=c.cmd("XYZZY plugh"))
out(k="binary", reply=c.cmd("\x01\x02"))
out(k="mail-syntax", reply=c.cmd("MAIL FROM alice@example.test"))
out(k="long", reply=c.cmd("NOOP " + "x" * 5000))
out(k="noop", reply=c.cmd("NOOP"))
out(k="vrfy", reply=c.cmd("VRFY alice"))
out(k="expn", reply=c.cmd("EXPN staff"))
replies = [c.cmd("BOGUS") for _ in range(3)]
out(k="bogus", reply=replies)
out(k="after", reply=c.reply())
c.close()
""");
        string Reply(string k) => r.Single(x => S(x, "k") == k).GetProperty("reply").ToString();
        Assert.StartsWith("501 5.5.4", Reply("helo-missing"), StringComparison.Ordinal);
        Assert.StartsWith("503 5.5.1", Reply("rcpt-first"), StringComparison.Ordinal);
        Assert.StartsWith("500 5.5.2", Reply("garbage"), StringComparison.Ordinal);
        Assert.StartsWith("500 5.5.2", Reply("binary"), StringComparison.Ordinal);
        Assert.StartsWith("501 5.5.4", Reply("mail-syntax"), StringComparison.Ordinal);
        Assert.StartsWith("500 5.5.2 Line too long", Reply("long"), StringComparison.Ordinal);
        Assert.StartsWith("250 2.0.0", Reply("noop"), StringComparison.Ordinal);
        Assert.StartsWith("252 2.5.0", Reply("vrfy"), StringComparison.Ordinal);
        Assert.StartsWith("502 5.5.1", Reply("expn"), StringComparison.Ordinal);
        // MaxErrors is 10 in the fixture: seven errors so far, so two more 500s and the tenth error closes with 421.
        var bogus = r.Single(x => S(x, "k") == "bogus").GetProperty("reply").EnumerateArray().Select(x => x.GetString()!).ToList();
        Assert.StartsWith("500 5.5.2", bogus[0], StringComparison.Ordinal);
        Assert.StartsWith("500 5.5.2", bogus[1], StringComparison.Ordinal);
        Assert.StartsWith("421 4.7.0", bogus[2], StringComparison.Ordinal);
        Assert.Equal("EOF", Reply("after"));
    }

    [Fact]
    public async Task Early_talker_is_refused_before_the_greeting()
    {
        var r = await PythonAsync("""
c = Raw(MX, greet=False)
c.send("EHLO impatient.example\r\n")
out(reply=c.reply())
c.close()
""");
        Assert.StartsWith("554 5.5.1", S(r[0], "reply"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_password_is_refused_and_repeated_failures_are_throttled()
    {
        // From 127.0.0.2 so the block does not spill over into other tests (the throttle is per address).
        var r = await PythonAsync("""
def attempt(pw):
    s = smtplib.SMTP_SSL("127.0.0.1", SUBS, timeout=15, context=ctx, source_address=("127.0.0.2", 0))
    s.ehlo("guesser")
    t = time.time()
    code, resp = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice@example.test\0" + pw).decode())
    took = time.time() - t
    try: s.quit()
    except Exception: pass
    return code, text(resp), took
for i in range(4):
    code, resp, took = attempt(b"wrong password")
    out(i=i, code=code, resp=resp, took=took)
code, resp, took = attempt(PW.encode())
out(i="right-while-blocked", code=code, resp=resp, took=took)
s = smtplib.SMTP_SSL("127.0.0.1", SUBS, timeout=15, context=ctx)
out(i="other-address", r=r(s.login("alice@example.test", PW)))
s.quit()
""");
        Assert.Equal(535, r[0].GetProperty("code").GetInt32());
        Assert.StartsWith("5.7.8", S(r[0], "resp"), StringComparison.Ordinal);
        Assert.Equal(535, r[1].GetProperty("code").GetInt32());
        Assert.True(r[2].GetProperty("took").GetDouble() > r[0].GetProperty("took").GetDouble(), "failures should slow down");
        Assert.Equal(535, r[2].GetProperty("code").GetInt32());
        // AuthMaxFailures is 3: the fourth try is refused outright, and so is the right password from that address.
        Assert.Equal(421, r[3].GetProperty("code").GetInt32());
        Assert.Equal(421, r[4].GetProperty("code").GetInt32());
        Assert.Equal(235, r[5].GetProperty("r")[0].GetInt32());
    }

    [Fact]
    public async Task Per_address_connection_limit_answers_421()
    {
        var r = await PythonAsync("""
conns = [Raw(MX, src="127.0.0.3") for _ in range(5)]
extra = Raw(MX, src="127.0.0.3")
out(first=conns[0].greeting, extra=extra.greeting)
for c in conns + [extra]: c.close()
""");
        Assert.StartsWith("220 mx.mailcloud.test", S(r[0], "first"), StringComparison.Ordinal);
        Assert.StartsWith("421 4.7.0", S(r[0], "extra"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_data_is_refused_after_reading_it_and_nothing_is_stored()
    {
        var before = await smtp.Inbound.GetApproximateMessageCountAsync();
        var r = await PythonAsync("""
s = smtplib.SMTP("127.0.0.1", MX, timeout=30)
s.ehlo("big.example")
s.mail("carol@remote.example"); s.rcpt("alice@example.test")
body = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 400
code, resp = s.data(body)
out(code=code, resp=text(resp))
out(noop=s.noop()[0])
s.quit()
""");
        Assert.Equal(552, r[0].GetProperty("code").GetInt32());
        Assert.StartsWith("5.3.4", S(r[0], "resp"), StringComparison.Ordinal);
        Assert.Equal(250, r[1].GetProperty("noop").GetInt32());
        Assert.Equal(before, await smtp.Inbound.GetApproximateMessageCountAsync());
    }

    [Fact]
    public async Task Swaks_delivers_with_pipelining_and_tls()
    {
        var result = await ExternalProcess.RunAsync("swaks", [
            "--server", "127.0.0.1", "--port", smtp.MxPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--from", "dave@remote.example", "--to", "bob@example.test", "--ehlo", "swaks.example",
            "--pipeline", "--tls", "--header", "Subject: via swaks", "--body", "swaks body"]);
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        var id = Id(result.Stdout);
        var (item, envelope) = await smtp.TakeWorkItemAsync(id);
        Assert.Equal("dave@remote.example", envelope.Sender);
        Assert.NotNull(envelope.Tls);
        Assert.Contains("Subject: via swaks", await smtp.ReadMessageAsync(item), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Curl_submits_with_auth_over_implicit_tls()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "From: alice@example.test\r\nTo: x@elsewhere.example\r\nSubject: via curl\r\n\r\ncurl body\r\n");
        try
        {
            var result = await ExternalProcess.RunAsync("curl", [
                "--silent", "--show-error", "--insecure", "-v",
                $"smtps://127.0.0.1:{smtp.SubmissionsPort}", "--mail-from", "alice@example.test", "--mail-rcpt", "x@elsewhere.example",
                "--user", $"alice@example.test:{SmtpFixture.Password}", "--upload-file", file]);
            Assert.True(result.ExitCode == 0, result.Stderr);
            var id = Id(result.Stderr); // curl -v prints the server's replies on stderr
            var (item, envelope) = await smtp.TakeWorkItemAsync(id);
            Assert.Equal("alice@example.test", envelope.AuthenticatedUser);
            Assert.Contains("Subject: via curl", await smtp.ReadMessageAsync(item), StringComparison.Ordinal);
            Assert.DoesNotContain(SmtpFixture.Password, await smtp.ReadMessageAsync(item), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Bare_lf_dot_does_not_end_data_so_nothing_can_be_smuggled()
    {
        var r = await PythonAsync("""
c = Raw(MX)
c.cmd("EHLO smuggler.example")
c.cmd("MAIL FROM:<carol@remote.example>"); c.cmd("RCPT TO:<alice@example.test>"); c.cmd("DATA")
c.send("Subject: outer\r\n\r\nbody\n.\nMAIL FROM:<evil@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nsmuggled\r\n.\r\n")
out(k="end", reply=c.reply())
out(k="noop", reply=c.cmd("NOOP"))
c.cmd("QUIT"); c.close()
""");
        var end = S(r[0], "reply");
        Assert.StartsWith("250 2.0.0", end, StringComparison.Ordinal);
        Assert.StartsWith("250 2.0.0 Ok", S(r[1], "reply"), StringComparison.Ordinal); // the smuggled DATA was not a command
        var (item, envelope) = await smtp.TakeWorkItemAsync(Id(end));
        Assert.Equal(["alice@example.test"], envelope.Recipients.Select(x => x.Address));
        Assert.Contains("MAIL FROM:<evil@remote.example>", await smtp.ReadMessageAsync(item), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commands_pipelined_after_starttls_are_discarded_not_executed()
    {
        var r = await PythonAsync("""
c = Raw(MX)
c.cmd("EHLO injector.example")
c.send("STARTTLS\r\nMAIL FROM:<injected@remote.example>\r\n")
out(k="starttls", reply=c.reply())
tls = ctx.wrap_socket(c.s, server_hostname="mx.mailcloud.test")
c.s = tls; c.f = tls.makefile("rb")
out(k="ehlo", reply=c.cmd("EHLO injector.example"))
# Had the injected MAIL run, this RCPT would be accepted and MAIL refused as a nested transaction.
out(k="rcpt", reply=c.cmd("RCPT TO:<alice@example.test>"))
c.cmd("QUIT"); c.close()
""");
        Assert.StartsWith("220 2.0.0", S(r[0], "reply"), StringComparison.Ordinal);
        Assert.StartsWith("250", S(r[1], "reply"), StringComparison.Ordinal);
        Assert.StartsWith("503 5.5.1", S(r[2], "reply"), StringComparison.Ordinal);
    }
}
