using System.Text.Json;
using MailCloud.Data;
using static MailCloud.FunctionalTests.Imap.JsonLines;

namespace MailCloud.FunctionalTests.Imap;

/// <summary>
/// Flags, copies, expunges and what other sessions see of them (also in IDLE, with mail delivered through SMTP and
/// the pipeline), bad input, and real client libraries (npm imapflow, curl).
/// </summary>
public sealed class ImapSessionTests(ImapFixture fx) : IClassFixture<ImapFixture>
{

    [Fact]
    public async Task Store_copy_move_and_expunge_with_uidplus_and_condstore()
    {
        var r = await fx.PythonAsync("""
m = login("u6@example.test")
for i in range(1, 6):
    m.append("INBOX", None, None, ("Subject: m%d\r\n\r\nbody %d\r\n" % (i, i)).encode())
raw = Raw(); raw.login("u6@example.test")
out(k="enable", v=raw.cmd("ENABLE CONDSTORE"))
sel = raw.cmd("SELECT INBOX")
out(k="select", v=sel)
out(k="store", v=raw.cmd("STORE 1:2 +FLAGS (\\Flagged $Work)"))
out(k="silent", v=raw.cmd("STORE 3 +FLAGS.SILENT (\\Seen)"))
out(k="minus", v=raw.cmd("UID STORE 1 -FLAGS (\\Flagged)"))
out(k="replace", v=raw.cmd("STORE 4 FLAGS (\\Draft)"))
modseq = int(re.search(r"MODSEQ \((\d+)\)", raw.cmd("FETCH 4 (MODSEQ)")[0]).group(1))
out(k="cond", v=raw.cmd("STORE 4,5 (UNCHANGEDSINCE %d) +FLAGS (\\Answered)" % (modseq - 1)))
out(k="changed", v=raw.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % modseq))
out(k="badflag", v=raw.cmd("STORE 1 +FLAGS (\\Bogus)"))
out(k="copy", v=raw.cmd("UID COPY 1:2 Trash"))
out(k="copy-missing", v=raw.cmd("COPY 1 Nowhere"))
out(k="move", v=raw.cmd("MOVE 2 Junk"))
out(k="del", v=raw.cmd("STORE 1:2 +FLAGS.SILENT (\\Deleted)"))
out(k="uidexpunge", v=raw.cmd("UID EXPUNGE 1"))
out(k="expunge", v=raw.cmd("EXPUNGE"))
out(k="left", v=raw.cmd("UID FETCH 1:* (FLAGS)"))
out(k="status", v=raw.cmd("STATUS Trash (MESSAGES UNSEEN)") + raw.cmd("STATUS Junk (MESSAGES)") + raw.cmd("STATUS INBOX (MESSAGES UNSEEN)"))
out(k="trash", v=raw.cmd("EXAMINE Trash") + raw.cmd("FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])"))
out(k="readonly", v=raw.cmd("STORE 1 +FLAGS (\\Seen)"))
out(k="quota", v=raw.cmd("GETQUOTAROOT INBOX"))
""");
        Assert.Contains("* ENABLED CONDSTORE", Lines(One(r, "enable"), "v"));
        Assert.Contains(Lines(One(r, "select"), "v"), l => l.StartsWith("* OK [HIGHESTMODSEQ ", StringComparison.Ordinal));
        // The new keyword is announced (FLAGS, PERMANENTFLAGS) before the first FETCH shows it.
        var storeLines = Lines(One(r, "store"), "v");
        Assert.StartsWith("* FLAGS (", storeLines[0], StringComparison.Ordinal);
        Assert.Contains("$Work", storeLines[0], StringComparison.Ordinal);
        var store = storeLines.Where(l => l.Contains(" FETCH ", StringComparison.Ordinal)).ToList();
        Assert.Matches(@"^\* 1 FETCH \(FLAGS \(\$Work \\Flagged( \\Recent)?\) MODSEQ \(\d+\)\)$", store[0]);
        Assert.Matches(@"^\* 2 FETCH \(FLAGS \(\$Work \\Flagged( \\Recent)?\) MODSEQ \(\d+\)\)$", store[1]);
        var silent = Lines(One(r, "silent"), "v");
        Assert.Matches(@"^\* 3 FETCH \(MODSEQ \(\d+\)\)$", silent[0]);
        Assert.Matches(@"^\* 1 FETCH \(UID 1 FLAGS \(\$Work( \\Recent)?\) MODSEQ", Lines(One(r, "minus"), "v")[0]);
        Assert.Matches(@"FLAGS \(\\Draft( \\Recent)?\)", Lines(One(r, "replace"), "v")[0]); // FLAGS replaces everything but \Recent
        var cond = Lines(One(r, "cond"), "v");
        Assert.Contains("[MODIFIED 4]", cond[^1], StringComparison.Ordinal);
        Assert.Contains(cond, l => l.StartsWith("* 5 FETCH (FLAGS (\\Answered", StringComparison.Ordinal));
        var changed = Lines(One(r, "changed"), "v");
        Assert.Single(changed, l => l.StartsWith("* ", StringComparison.Ordinal));
        Assert.StartsWith("* 5 FETCH", changed[0], StringComparison.Ordinal);
        Assert.Contains("BAD", Lines(One(r, "badflag"), "v")[^1], StringComparison.Ordinal);
        Assert.Matches(@"OK \[COPYUID \d+ 1:2 1:2\]", Lines(One(r, "copy"), "v")[^1]);
        Assert.Contains("TRYCREATE", Lines(One(r, "copy-missing"), "v")[^1], StringComparison.Ordinal);
        // The refused copy left no blob reference behind (it would keep the message's blob alive for ever).
        await foreach (var reference in fx.Account.Tables.GetTableClient(MailCloud.Core.StorageNames.BlobRefsTable).QueryRowsAsync(null))
            Assert.DoesNotContain("|Nowhere|", reference.RowKey, StringComparison.Ordinal);
        var move = Lines(One(r, "move"), "v");
        Assert.Matches(@"^\* OK \[COPYUID \d+ 2 1\]", move[0]);
        Assert.Equal("* 2 EXPUNGE", move[1]);
        // After the move the old 3 is 2: UID EXPUNGE 1 removes only UID 1, EXPUNGE the rest flagged \Deleted.
        Assert.Equal("* 1 EXPUNGE", Lines(One(r, "uidexpunge"), "v")[0]);
        Assert.Equal("* 1 EXPUNGE", Lines(One(r, "expunge"), "v")[0]);
        var left = Lines(One(r, "left"), "v").Where(l => l.StartsWith("* ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, left.Count);
        Assert.Contains("UID 4", left[0], StringComparison.Ordinal);
        Assert.Contains("UID 5", left[1], StringComparison.Ordinal);
        var status = Lines(One(r, "status"), "v");
        Assert.Contains("* STATUS \"Trash\" (MESSAGES 2 UNSEEN 2)", status);
        Assert.Contains("* STATUS \"Junk\" (MESSAGES 1)", status);
        Assert.Contains("* STATUS \"INBOX\" (MESSAGES 2 UNSEEN 2)", status);
        var trash = string.Join("\n", Lines(One(r, "trash"), "v"));
        Assert.Contains("[READ-ONLY]", trash, StringComparison.Ordinal);
        Assert.Contains("Subject: m1", trash, StringComparison.Ordinal);
        Assert.Contains("Subject: m2", trash, StringComparison.Ordinal);
        Assert.Contains("READ-ONLY", Lines(One(r, "readonly"), "v")[^1], StringComparison.Ordinal);
        Assert.Contains("* QUOTAROOT \"INBOX\" \"\"", Lines(One(r, "quota"), "v"));
    }

    [Fact]
    public async Task A_second_session_sees_flag_changes_and_expunges_with_consistent_numbers()
    {
        var r = await fx.PythonAsync("""
m = login("u7@example.test")
for i in range(1, 5):
    m.append("INBOX", None, None, ("Subject: s%d\r\n\r\nx\r\n" % i).encode())
a = Raw(); a.login("u7@example.test"); a.cmd("SELECT INBOX")
b = Raw(); b.login("u7@example.test"); b.cmd("SELECT INBOX")
a.cmd("STORE 2 +FLAGS (\\Flagged)")
out(k="b-noop", v=b.cmd("NOOP"))
a.cmd("STORE 1,3 +FLAGS (\\Deleted)")
a.cmd("EXPUNGE")
# During FETCH (by number) expunges are held back and numbers stay as b knows them.
out(k="b-fetch", v=b.cmd("FETCH 4 (UID)"))
out(k="b-uidfetch", v=b.cmd("UID FETCH 4 (UID)"))
out(k="b-after", v=b.cmd("FETCH 1:* (UID)"))
m.append("INBOX", None, None, b"Subject: s5\r\n\r\nx\r\n")
out(k="b-new", v=b.cmd("NOOP"))
""");
        Assert.Contains("* 2 FETCH (UID 2 FLAGS (\\Flagged))", Lines(One(r, "b-noop"), "v"));
        var fetch = Lines(One(r, "b-fetch"), "v");
        Assert.Equal("* 4 FETCH (UID 4)", fetch[0]);
        Assert.DoesNotContain(fetch, l => l.EndsWith("EXPUNGE", StringComparison.Ordinal));
        // UID FETCH may report them after its data: 3 first, then 1 (each number right at the time it is read).
        Assert.Equal(["* 4 FETCH (UID 4)", "* 3 EXPUNGE", "* 1 EXPUNGE"], Lines(One(r, "b-uidfetch"), "v").Where(l => l.StartsWith("* ", StringComparison.Ordinal)).ToList());
        Assert.Equal(["* 1 FETCH (UID 2)", "* 2 FETCH (UID 4)"], Lines(One(r, "b-after"), "v").Where(l => l.StartsWith("* ", StringComparison.Ordinal)).ToList());
        Assert.Contains("* 3 EXISTS", Lines(One(r, "b-new"), "v"));
    }

    [Fact]
    public async Task Idle_reports_mail_delivered_through_smtp_within_seconds()
    {
        var r = await fx.PythonAsync("""
m = login("u8@example.test")
raw = Raw(); raw.login("u8@example.test"); raw.cmd("SELECT INBOX")
raw.send("i1 IDLE\r\n")
out(k="cont", v=raw.line())
t0 = time.time()
smtp_send("sender@remote.example", "u8@example.test", "idle-arrival")
seen = []
while time.time() - t0 < 20:
    l = raw.line()
    seen.append(l)
    if l.endswith("EXISTS"): break
out(k="idle", v=seen, seconds=time.time() - t0)
# A flag change by another session arrives in IDLE too.
m.select("INBOX"); m.store("1", "+FLAGS", "(\\Flagged)")
flag = raw.line()
while " FETCH " not in flag: flag = raw.line()  # "* 1 RECENT" came with the EXISTS
out(k="flag", v=flag)
raw.send("DONE\r\n")
out(k="done", v=raw.until("i1"))
out(k="fetch", v=raw.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])"))
""");
        Assert.StartsWith("+", S(One(r, "cont"), "v"), StringComparison.Ordinal);
        var idle = One(r, "idle");
        Assert.Equal("* 1 EXISTS", Lines(idle, "v")[^1]);
        Assert.True(idle.GetProperty("seconds").GetDouble() < 10, $"IDLE took {idle.GetProperty("seconds").GetDouble()} s");
        // The IDLE session heard of the message first, so it is \Recent there.
        Assert.Equal("* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))", S(One(r, "flag"), "v"));
        Assert.StartsWith("i1 OK", Lines(One(r, "done"), "v")[^1], StringComparison.Ordinal);
        Assert.Contains("Subject: idle-arrival", string.Join("\n", Lines(One(r, "fetch"), "v")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_gets_bad_and_the_session_goes_on()
    {
        var r = await fx.PythonAsync("""
raw = Raw()
res = {}
for name, data in [("empty", b"\r\n"), ("notag", b" NOOP\r\n"), ("unknown", b"a1 FROBNICATE\r\n"), ("binary", b"a2 \x00\xff\xfe(((\r\n"),
                   ("unbalanced", b"a3 LOGIN (x\r\n"), ("state", b"a4 FETCH 1 FLAGS\r\n"), ("quote", b'a5 LOGIN "x\r\n'),
                   ("toobig", b"a6 LOGIN {999999}\r\n"), ("uidbad", b"a7 UID NOOP\r\n")]:
    raw.send(data)
    res[name] = raw.line()
res["alive"] = raw.cmd("NOOP")[-1]
raw.login("u9@example.test")
raw.cmd("SELECT INBOX")
for name, c in [("badset", "FETCH 0:x FLAGS"), ("range", "FETCH 99 FLAGS"), ("baditem", "FETCH 1:* (NOPE)"), ("badsection", "FETCH 1:* BODY[9.FOO]"),
                ("search", "SEARCH OR SEEN"), ("deep", "SEARCH " + "(" * 40 + "ALL" + ")" * 40)]:
    res[name] = raw.cmd(c)[-1]
res["still"] = raw.cmd("NOOP")[-1]
out(k="r", v=res)
""");
        var v = One(r, "r").GetProperty("v");
        string K(string key) => v.GetProperty(key).GetString()!;
        Assert.Contains("BAD", K("empty"), StringComparison.Ordinal);
        Assert.Contains("BAD", K("notag"), StringComparison.Ordinal);
        Assert.StartsWith("a1 BAD", K("unknown"), StringComparison.Ordinal);
        Assert.StartsWith("a2 BAD", K("binary"), StringComparison.Ordinal);
        Assert.StartsWith("a3 BAD", K("unbalanced"), StringComparison.Ordinal);
        Assert.StartsWith("a4 BAD", K("state"), StringComparison.Ordinal);
        Assert.StartsWith("a5 BAD", K("quote"), StringComparison.Ordinal);
        Assert.StartsWith("a6 NO [TOOBIG]", K("toobig"), StringComparison.Ordinal);
        Assert.StartsWith("a7 BAD", K("uidbad"), StringComparison.Ordinal);
        Assert.Contains(" OK", K("alive"), StringComparison.Ordinal);
        foreach (var key in new[] { "badset", "range", "baditem", "badsection", "search", "deep" })
            Assert.Contains(" BAD ", K(key), StringComparison.Ordinal);
        Assert.Contains(" OK", K("still"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Compress_deflate_carries_the_rest_of_the_session()
    {
        var r = await fx.PythonAsync("""
import zlib
m = login("u15@example.test")
m.append("INBOX", None, None, b"Subject: squeezed\r\n\r\n" + b"compressible text " * 200 + b"\r\n")
raw = Raw(); raw.login("u15@example.test")
out(k="caps", v=raw.cmd("CAPABILITY"))
raw.send("z1 COMPRESS DEFLATE\r\n")
out(k="ok", v=raw.line())
comp = zlib.compressobj(wbits=-15); decomp = zlib.decompressobj(wbits=-15)
def zcmd(tag, text):
    raw.s.sendall(comp.compress((tag + " " + text + "\r\n").encode()) + comp.flush(zlib.Z_SYNC_FLUSH))
    data, wire = b"", 0
    while not re.search((r"(^|\r\n)" + tag + r" [A-Z]+ [^\r\n]*\r\n$").encode(), data):
        chunk = raw.s.recv(65536)
        if not chunk: break
        wire += len(chunk)
        data += decomp.decompress(chunk)
    return data.decode("latin-1"), wire
sel, _ = zcmd("z2", "SELECT INBOX")
body, wire = zcmd("z3", "FETCH 1 BODY.PEEK[]")
again, _ = zcmd("z4", "COMPRESS DEFLATE")
out(k="select", v=sel); out(k="body", v=body, wire=wire, plain=len(body)); out(k="again", v=again)
""");
        Assert.Contains(Lines(One(r, "caps"), "v"), l => l.Contains(" COMPRESS=DEFLATE", StringComparison.Ordinal));
        Assert.Equal("z1 OK DEFLATE active", S(One(r, "ok"), "v"));
        Assert.Contains("z2 OK [READ-WRITE]", S(One(r, "select"), "v"), StringComparison.Ordinal);
        var body = One(r, "body");
        Assert.Contains("compressible text compressible text", S(body, "v"), StringComparison.Ordinal);
        Assert.True(body.GetProperty("wire").GetInt32() < body.GetProperty("plain").GetInt32() / 4, "the wire carried compressed data");
        Assert.Contains("z4 NO [COMPRESSIONACTIVE]", S(One(r, "again"), "v"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_quota_append_is_refused()
    {
        var r = await fx.PythonAsync("""
m = login("u16@example.test")
out(k="small", v=t(m.append("INBOX", None, None, b"Subject: a\r\n\r\nfits\r\n")))
out(k="big", v=t(m.append("INBOX", None, None, b"Subject: b\r\n\r\n" + b"y" * 3000 + b"\r\n")))
out(k="quota", v=t(m.getquotaroot("INBOX")))
""");
        Assert.Contains("APPENDUID", S(One(r, "small"), "v"), StringComparison.Ordinal);
        Assert.Contains("OVERQUOTA", S(One(r, "big"), "v"), StringComparison.Ordinal);
        Assert.Contains("STORAGE 1 1", S(One(r, "quota"), "v"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Imapflow_lists_fetches_appends_moves_and_searches()
    {
        const string script = """
const { ImapFlow } = require('imapflow');
(async () => {
  const client = new ImapFlow({ host: '127.0.0.1', port: Number(process.env.IMAPS), secure: true, tls: { rejectUnauthorized: false },
    auth: { user: 'u10@example.test', pass: process.env.PASSWORD }, logger: false });
  await client.connect();
  const out = {};
  const appended = await client.append('INBOX', 'From: flow@remote.example\r\nSubject: from imapflow\r\n\r\nflow body\r\n', ['\\Seen']);
  out.append = { uid: appended.uid, uidValidity: String(appended.uidValidity) };
  out.list = (await client.list()).map(m => [m.path, m.specialUse || null]);
  const lock = await client.getMailboxLock('INBOX');
  try {
    out.exists = client.mailbox.exists;
    out.fetched = [];
    for await (const msg of client.fetch('1:*', { envelope: true, flags: true, bodyStructure: true, uid: true, size: true, source: true }))
      out.fetched.push({ uid: msg.uid, subject: msg.envelope.subject, from: msg.envelope.from[0].address, flags: [...msg.flags], type: msg.bodyStructure.type, source: msg.source.toString() });
    out.search = await client.search({ seen: true, from: 'flow' });
    out.move = [...(await client.messageMove('1:*', 'Trash')).uidMap.entries()];
  } finally { lock.release(); }
  out.trash = await client.status('Trash', { messages: true, unseen: true });
  await client.logout();
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
""";
        var res = await ExternalProcess.RunAsync("node", ["-e", script], env: fx.ImapEnv, timeout: TimeSpan.FromSeconds(60));
        Assert.True(res.ExitCode == 0, res.Stderr + res.Stdout);
        var o = JsonDocument.Parse(res.Stdout).RootElement;
        Assert.Equal(1, o.GetProperty("append").GetProperty("uid").GetInt32());
        Assert.Contains(o.GetProperty("list").EnumerateArray(), e => e[0].GetString() == "Sent" && e[1].GetString() == "\\Sent");
        Assert.Equal(1, o.GetProperty("exists").GetInt32());
        var msg = o.GetProperty("fetched")[0];
        Assert.Equal("from imapflow", msg.GetProperty("subject").GetString());
        Assert.Equal("flow@remote.example", msg.GetProperty("from").GetString());
        Assert.Equal("text/plain", msg.GetProperty("type").GetString());
        Assert.Equal("From: flow@remote.example\r\nSubject: from imapflow\r\n\r\nflow body\r\n", msg.GetProperty("source").GetString());
        Assert.Equal("[1]", o.GetProperty("search").GetRawText());
        Assert.Equal("[[1,1]]", o.GetProperty("move").GetRawText());
        Assert.Equal(1, o.GetProperty("trash").GetProperty("messages").GetInt32());
    }

    [Fact]
    public async Task Curl_reads_mail_over_imaps()
    {
        await fx.PythonAsync("""
m = login("u11@example.test")
m.append("INBOX", None, None, b"Subject: for curl\r\n\r\ncurl body line\r\n")
""");
        var user = "u11%40example.test";
        var fetch = await ExternalProcess.RunAsync("curl", ["-sS", "-k", $"imaps://127.0.0.1:{fx.ImapsPort}/INBOX;UID=1", "-u", $"u11@example.test:{ImapFixture.Password}"], timeout: TimeSpan.FromSeconds(30));
        Assert.True(fetch.ExitCode == 0, fetch.Stderr);
        Assert.Equal("Subject: for curl\r\n\r\ncurl body line\r\n", fetch.Stdout);
        var list = await ExternalProcess.RunAsync("curl", ["-sS", "-k", "--ssl-reqd", $"imap://{user}@127.0.0.1:{fx.ImapPort}/", "-u", $"u11@example.test:{ImapFixture.Password}"], timeout: TimeSpan.FromSeconds(30));
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Contains("\"Trash\"", list.Stdout, StringComparison.Ordinal);
        var search = await ExternalProcess.RunAsync("curl", ["-sS", "-k", $"imaps://127.0.0.1:{fx.ImapsPort}/INBOX", "-X", "SEARCH SUBJECT curl", "-u", $"u11@example.test:{ImapFixture.Password}"], timeout: TimeSpan.FromSeconds(30));
        Assert.True(search.ExitCode == 0, search.Stderr);
        Assert.Contains("* SEARCH 1", search.Stdout, StringComparison.Ordinal);
    }
}

/// <summary>A storage outage turns into NO [UNAVAILABLE] replies, the session lives on, and works again once storage is back.</summary>
public sealed class ImapStorageFailureTests(ImapFixture fx) : IClassFixture<ImapFixture>
{
    [Fact]
    public async Task Storage_failure_is_a_temporary_no_and_the_session_recovers()
    {
        await fx.PythonAsync("""
m = login("u12@example.test")
m.append("INBOX", None, None, b"Subject: before outage\r\n\r\nstill here\r\n")
""");
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, fx.ImapsPort);
        await using var ssl = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, cert, _, _) => cert?.GetCertHashString() == fx.Certificate.GetCertHashString());
        await ssl.AuthenticateAsClientAsync("localhost");
        var reader = new StreamReader(ssl, System.Text.Encoding.UTF8);
        int n = 0;
        async Task<List<string>> Cmd(string command)
        {
            var tag = $"c{++n}";
            await ssl.WriteAsync(System.Text.Encoding.UTF8.GetBytes($"{tag} {command}\r\n"));
            var lines = new List<string>();
            while (await reader.ReadLineAsync() is { } line)
            {
                lines.Add(line);
                if (line.StartsWith(tag + " ", StringComparison.Ordinal))
                    break;
            }
            return lines;
        }
        await reader.ReadLineAsync();
        Assert.Contains(" OK", (await Cmd($"LOGIN u12@example.test \"{ImapFixture.Password}\""))[^1], StringComparison.Ordinal);
        Assert.Contains(" OK", (await Cmd("SELECT INBOX"))[^1], StringComparison.Ordinal);

        var (blobPort, queuePort, tablePort) = (fx.Azurite.BlobPort, fx.Azurite.QueuePort, fx.Azurite.TablePort);
        await fx.Azurite.StopAsync();
        try
        {
            Assert.StartsWith("c3 NO [UNAVAILABLE]", (await Cmd("FETCH 1 (BODY[])"))[^1], StringComparison.Ordinal);
            Assert.StartsWith("c4 NO [UNAVAILABLE]", (await Cmd("STATUS INBOX (MESSAGES)"))[^1], StringComparison.Ordinal);
            Assert.StartsWith("c5 OK", (await Cmd("NOOP"))[^1], StringComparison.Ordinal);
        }
        finally
        {
            await fx.RestartAzuriteAsync(blobPort, queuePort, tablePort);
        }
        var fetch = await Cmd("FETCH 1 (BODY.PEEK[TEXT])");
        Assert.StartsWith("c6 OK", fetch[^1], StringComparison.Ordinal);
        Assert.Contains("still here", string.Join("\n", fetch), StringComparison.Ordinal);
    }
}
