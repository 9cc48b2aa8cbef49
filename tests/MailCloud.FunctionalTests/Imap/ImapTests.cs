using System.Text.Json;
using static MailCloud.FunctionalTests.Imap.JsonLines;

namespace MailCloud.FunctionalTests.Imap;

/// <summary>IMAP with real clients (python3 imaplib, raw sockets over real TLS) against the real server on Azurite.</summary>
public sealed class ImapTests(ImapFixture fx) : IClassFixture<ImapFixture>
{

    private const string Multipart = "From: \\\"Ann Example\\\" <ann@remote.example>\\r\\nTo: u2@example.test\\r\\nSubject: =?UTF-8?B?R3LDvMOfZQ==?= multipart\\r\\nMessage-ID: <mp1@remote.example>\\r\\nMIME-Version: 1.0\\r\\nContent-Type: multipart/mixed; boundary=\\\"b1\\\"\\r\\n\\r\\npreamble\\r\\n--b1\\r\\nContent-Type: text/plain; charset=utf-8\\r\\n\\r\\nplain part\\r\\n--b1\\r\\nContent-Type: application/octet-stream; name=\\\"a.bin\\\"\\r\\nContent-Transfer-Encoding: base64\\r\\n\\r\\nAAECAwQF\\r\\n--b1--\\r\\n";

    [Fact]
    public async Task Login_needs_tls_and_capabilities_follow_the_state()
    {
        var r = await fx.PythonAsync("""
m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=20)
out(k="plain", caps=list(m.capabilities))
try:
    m.login("u1@example.test", PW); out(k="login-plain", ok=True)
except imaplib.IMAP4.error as e:
    out(k="login-plain", ok=False, err=str(e))
m.starttls(ssl_context=ctx)
out(k="tls", caps=list(m.capabilities))
try:
    m.login("u1@example.test", "wrong"); out(k="bad", ok=True)
except imaplib.IMAP4.error as e:
    out(k="bad", ok=False, err=str(e))
typ, data = m.login("u1@example.test", PW)
out(k="login", typ=typ, data=t(data))
out(k="logout", typ=m.logout()[0])
raw = Raw()
out(k="greeting", v=raw.greeting)
out(k="sasl-ir", v=raw.cmd("AUTHENTICATE PLAIN " + base64.b64encode(b"\0u1@example.test\0" + PW.encode()).decode()))
out(k="again", v=raw.cmd("LOGIN a b"))
""");
        var plain = One(r, "plain").GetProperty("caps").EnumerateArray().Select(x => x.GetString()).ToList();
        Assert.Contains("STARTTLS", plain);
        Assert.Contains("LOGINDISABLED", plain);
        Assert.DoesNotContain("AUTH=PLAIN", plain);
        Assert.Contains("PRIVACYREQUIRED", S(One(r, "login-plain"), "err"), StringComparison.Ordinal);
        var tls = One(r, "tls").GetProperty("caps").EnumerateArray().Select(x => x.GetString()).ToList();
        Assert.Contains("AUTH=PLAIN", tls);
        Assert.Contains("AUTH=SCRAM-SHA-256", tls);
        Assert.DoesNotContain("LOGINDISABLED", tls);
        Assert.Contains("AUTHENTICATIONFAILED", S(One(r, "bad"), "err"), StringComparison.Ordinal);
        Assert.Equal("OK", S(One(r, "login"), "typ"));
        Assert.Contains("IMAP4rev1", S(One(r, "greeting"), "v"), StringComparison.Ordinal);
        Assert.Contains(" OK [CAPABILITY", One(r, "sasl-ir").GetProperty("v")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("BAD", One(r, "again").GetProperty("v")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scram_sha_256_authenticates_and_proves_the_server_knows_the_verifier()
    {
        var r = await fx.PythonAsync("""
raw = Raw()
user = "u1@example.test"
cnonce = base64.b64encode(os.urandom(18)).decode()
first_bare = "n=%s,r=%s" % (user, cnonce)
raw.send("a1 AUTHENTICATE SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()).decode() + "\r\n")
ch = base64.b64decode(raw.line()[2:]).decode()
attrs = dict(x.split("=", 1) for x in ch.split(","))
salted = hashlib.pbkdf2_hmac("sha256", PW.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
ck = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
sk = hashlib.sha256(ck).digest()
final_bare = "c=biws,r=" + attrs["r"]
auth = (first_bare + "," + ch + "," + final_bare).encode()
sig = hmac.new(sk, auth, hashlib.sha256).digest()
proof = base64.b64encode(bytes(a ^ b for a, b in zip(ck, sig))).decode()
raw.send(base64.b64encode((final_bare + ",p=" + proof).encode()).decode() + "\r\n")
server_final = raw.line()
v = base64.b64decode(server_final[2:]).decode()
server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
expected = base64.b64encode(hmac.new(server_key, auth, hashlib.sha256).digest()).decode()
raw.send("\r\n")
out(k="scram", verified=(v == "v=" + expected), done=raw.until("a1")[-1])
raw2 = Raw()
raw2.send("b1 AUTHENTICATE PLAIN\r\n")
out(k="cont", v=raw2.line())
raw2.send("*\r\n")
out(k="cancel", v=raw2.line())
out(k="alive", v=raw2.cmd("NOOP")[-1])
""");
        var scram = One(r, "scram");
        Assert.True(scram.GetProperty("verified").GetBoolean());
        Assert.StartsWith("a1 OK", S(scram, "done"), StringComparison.Ordinal);
        Assert.Equal("+ ", S(One(r, "cont"), "v"));
        Assert.StartsWith("b1 BAD", S(One(r, "cancel"), "v"), StringComparison.Ordinal);
        Assert.StartsWith("r1 OK", S(One(r, "alive"), "v"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Append_then_fetch_is_byte_exact_and_sections_come_from_byte_ranges()
    {
        var r = await fx.PythonAsync($$"""
msg = "{{Multipart}}".encode()
m = login("u2@example.test")
typ, data = m.append("INBOX", "(\\Seen $Label1)", imaplib.Time2Internaldate(time.time()), msg)
out(k="append", typ=typ, data=t(data))
m.select("INBOX")
typ, d = m.fetch("1", "(BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[HEADER.FIELDS (Subject Message-ID)] BODY.PEEK[]<10.20> RFC822.SIZE FLAGS)")
parts = {}
for item in d:
    if isinstance(item, tuple):
        key = re.search(rb"(BODY\[[^\]]*\](<\d+>)?) \{\d+\}$", item[0]).group(1).decode()
        parts[key] = item[1].decode("latin-1")
out(k="parts", v=parts, meta=t(d[-1]) if not isinstance(d[-1], tuple) else "", whole=(parts["BODY[]"].encode("latin-1") == msg), size=len(msg))
typ, d = m.fetch("1", "(RFC822.SIZE FLAGS)")
out(k="meta", v=t(d))
typ, d = m.fetch("1", "(ENVELOPE BODYSTRUCTURE)")
out(k="views", v=t(d))
""");
        var append = One(r, "append");
        Assert.Equal("OK", S(append, "typ"));
        Assert.Matches(@"\[APPENDUID \d+ 1\]", S(append, "data"));
        var parts = One(r, "parts");
        Assert.True(parts.GetProperty("whole").GetBoolean(), "BODY[] must equal the appended bytes");
        var v = parts.GetProperty("v");
        Assert.EndsWith("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n", v.GetProperty("BODY[HEADER]").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("preamble\r\n--b1", v.GetProperty("BODY[TEXT]").GetString(), StringComparison.Ordinal);
        Assert.Equal("plain part", v.GetProperty("BODY[1]").GetString());
        Assert.Equal("AAECAwQF", v.GetProperty("BODY[2]").GetString());
        Assert.Equal("Content-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", v.GetProperty("BODY[2.MIME]").GetString());
        Assert.Equal("Subject: =?UTF-8?B?R3LDvMOfZQ==?= multipart\r\nMessage-ID: <mp1@remote.example>\r\n\r\n", v.GetProperty("BODY[HEADER.FIELDS (Subject Message-ID)]").GetString());
        Assert.Equal(" Example\" <ann@remot", v.GetProperty("BODY[]<10>").GetString());
        var meta = One(r, "meta").GetProperty("v")[0].GetString()!;
        Assert.Contains($"RFC822.SIZE {One(r, "parts").GetProperty("size").GetInt32()}", meta, StringComparison.Ordinal);
        Assert.Contains("FLAGS ($Label1 \\Recent \\Seen)", meta, StringComparison.Ordinal); // recent: this session is the first to see it
        var views = string.Join("", One(r, "views").GetProperty("v").EnumerateArray().Select(x => x.ToString()));
        Assert.Contains("((\"Ann Example\" NIL \"ann\" \"remote.example\"))", views, StringComparison.Ordinal);
        Assert.Contains("\"<mp1@remote.example>\"", views, StringComparison.Ordinal);
        Assert.Contains("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 10 0", views, StringComparison.Ordinal); // "plain part" then the boundary: no line break of its own (as Dovecot counts)
        Assert.Contains("\"MIXED\" (\"BOUNDARY\" \"b1\")", views, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Envelope_flags_and_header_fetches_never_download_a_message()
    {
        await fx.PythonAsync($$"""
m = login("u3@example.test")
for i in range(3):
    m.append("INBOX", None, None, ("Subject: n%d\r\nFrom: a@b.example\r\n\r\n" % i + "x" * 5000 + "\r\n").encode())
""");
        var counter = fx.Account.RequestCounter;
        var before = counter.Snapshot();
        var r = await fx.PythonAsync("""
m = login("u3@example.test")
m.select("INBOX")
typ, d = m.fetch("1:*", "(FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE UID)")
out(k="f", n=len(d), v=t(d[0]))
typ, d = m.uid("fetch", "1:*", "(FLAGS)")
out(k="g", n=len(d))
# The header block is kept in the table row: header fetches and header searches read no blob either.
typ, d = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[HEADER] BODY.PEEK[]<0.10>)")
out(k="h", v=t(d[0][1]), n=len(d))
out(k="s", v=t(m.search(None, "HEADER", "Subject", "n2")[1][0]))
""");
        var after = counter.Snapshot();
        Assert.Equal(3, One(r, "f").GetProperty("n").GetInt32());
        Assert.Contains("\"n0\"", S(One(r, "f"), "v"), StringComparison.Ordinal);
        Assert.Equal("Subject: n0\r\n\r\n", S(One(r, "h"), "v"));
        Assert.Equal("3", S(One(r, "s"), "v"));
        var blobRequests = after.Where(kv => kv.Key.StartsWith("blob.", StringComparison.Ordinal)).Sum(kv => kv.Value - before.GetValueOrDefault(kv.Key));
        Assert.Equal(0, blobRequests);
    }

    [Fact]
    public async Task Marking_a_message_read_costs_three_table_requests()
    {
        await fx.PythonAsync("""
m = login("u14@example.test")
m.append("INBOX", None, None, b"Subject: to read\r\n\r\nx\r\n")
""");
        const string Session = """
raw = Raw(); raw.login("u14@example.test"); raw.cmd("SELECT INBOX")
if STORE: out(k="store", v=raw.cmd("STORE 1 +FLAGS (\\Seen)"))
raw.cmd("LOGOUT")
""";
        var counter = fx.Account.RequestCounter;
        var detail = new List<string>();
        async Task<long> TableRequestsAsync(bool store)
        {
            var before = counter.Snapshot();
            await fx.PythonAsync($"STORE = {(store ? "True" : "False")}\n" + Session);
            var after = counter.Snapshot();
            // Table requests only: the counter is shared with the trigger driver's queue polling.
            var table = after.Where(kv => kv.Key.StartsWith("table.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
            detail.Add(string.Join(", ", table.Where(kv => kv.Value != 0).Select(kv => $"{kv.Key} +{kv.Value}")));
            return table.Values.Sum();
        }
        await TableRequestsAsync(store: false); // warm the directory cache
        var baseline = await TableRequestsAsync(store: false);
        var withStore = await TableRequestsAsync(store: true);
        // Two point reads in parallel (folder row, the message's row: no partition scan) and one entity-group
        // transaction; the session does not re-read its own change.
        Assert.True(withStore - baseline == 3, string.Join(" | ", detail));
    }

    /// <summary>
    /// The host remembers \Recent claims after a folder's last session leaves it: selecting again when nothing
    /// arrived reads the folder row only (not the claim row as well), and a message that arrives afterwards is still
    /// recent for exactly one session.
    /// </summary>
    [Fact]
    public async Task Selecting_again_when_nothing_arrived_reads_only_the_folder_row_and_recent_stays_exact()
    {
        await fx.PythonAsync("""
m = login("u18@example.test")
m.append("INBOX", None, None, b"Subject: first\r\n\r\nx\r\n")
""");
        var counter = fx.Account.RequestCounter;
        var detail = new List<string>();
        async Task<long> TableRequestsAsync(bool select)
        {
            var before = counter.Snapshot();
            var r = await fx.PythonAsync($"SELECT = {(select ? "True" : "False")}\n" + """
raw = Raw(); raw.login("u18@example.test")
if SELECT: out(k="select", v=raw.cmd("SELECT INBOX"))
raw.cmd("LOGOUT")
""");
            var after = counter.Snapshot();
            var table = after.Where(kv => kv.Key.StartsWith("table.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
            detail.Add(string.Join(", ", table.Where(kv => kv.Value != 0).Select(kv => $"{kv.Key} +{kv.Value}")));
            if (select)
                detail.Add(string.Join(" ", One(r, "select").GetProperty("v").EnumerateArray().Select(x => x.GetString()).Where(l => l!.EndsWith("RECENT", StringComparison.Ordinal))));
            return table.Values.Sum();
        }
        await TableRequestsAsync(select: true); // claims the first message, and warms the caches
        var baseline = await TableRequestsAsync(select: false);
        var again = await TableRequestsAsync(select: true);
        Assert.True(again - baseline == 1, string.Join(" | ", detail));
        Assert.Equal("* 0 RECENT", detail[^1]);

        // A new message: recent for the next session only.
        await fx.PythonAsync("""
m = login("u18@example.test")
m.append("INBOX", None, None, b"Subject: second\r\n\r\nx\r\n")
""");
        await TableRequestsAsync(select: true);
        Assert.Equal("* 1 RECENT", detail[^1]);
        await TableRequestsAsync(select: true);
        Assert.Equal("* 0 RECENT", detail[^1]);
    }

    [Fact]
    public async Task Store_on_the_whole_folder_is_one_write_and_every_session_sees_the_flags()
    {
        // 100 messages: 1:* is one flag run on the folder row (FlagRuns), not 100 row writes. A second session,
        // already selected, learns the flags at its next NOOP; a new session, CONDSTORE and SEARCH all agree.
        await fx.PythonAsync("""
m = login("u17@example.test")
for i in range(100):
    m.append("INBOX", None, None, ("Subject: bulk %d\r\n\r\nx\r\n" % i).encode())
""");
        var before = fx.Account.RequestCounter.Snapshot();
        var r = await fx.PythonAsync("""
a = Raw(); a.login("u17@example.test"); a.cmd("SELECT INBOX")
b = Raw(); b.login("u17@example.test"); b.cmd("SELECT INBOX")
hm = [l for l in a.cmd("STATUS INBOX (HIGHESTMODSEQ)") if "HIGHESTMODSEQ" in l][0]
out(k="modseq", v=hm)
out(k="store", v=a.cmd("STORE 1:* +FLAGS (\\Seen)"))
out(k="noop", v=b.cmd("NOOP"))
out(k="unseen", v=b.cmd("SEARCH UNSEEN"))
out(k="store1", v=a.cmd("STORE 5 -FLAGS (\\Seen)"))
c = Raw(); c.login("u17@example.test"); c.cmd("ENABLE CONDSTORE")
out(k="status", v=c.cmd("STATUS INBOX (UNSEEN MESSAGES)"))
c.cmd("SELECT INBOX")
since = int(hm.split("HIGHESTMODSEQ ")[1].split(")")[0])
out(k="changed", v=c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % since))
out(k="unseen2", v=c.cmd("SEARCH UNSEEN"))
""");
        var after = fx.Account.RequestCounter.Snapshot();
        var store = One(r, "store").GetProperty("v").EnumerateArray().Select(x => x.GetString()!).ToList();
        Assert.True(100 == store.Count(l => l.Contains(" FETCH (FLAGS (", StringComparison.Ordinal) && l.Contains("\\Seen", StringComparison.Ordinal)), string.Join("\n", store.Take(3)));
        Assert.EndsWith("OK STORE completed", store[^1], StringComparison.Ordinal);
        var noop = One(r, "noop").GetProperty("v").EnumerateArray().Select(x => x.GetString()!).ToList();
        Assert.True(100 == noop.Count(l => l.Contains("FETCH (", StringComparison.Ordinal) && l.Contains("\\Seen", StringComparison.Ordinal)), string.Join("\n", noop.Take(5)));
        Assert.Equal("* SEARCH", One(r, "unseen").GetProperty("v")[0].GetString());
        Assert.Contains("(UNSEEN 1 MESSAGES 100)", One(r, "status").GetProperty("v")[0].GetString(), StringComparison.Ordinal);
        var changed = One(r, "changed").GetProperty("v").EnumerateArray().Select(x => x.GetString()!).Where(l => l.StartsWith("* ", StringComparison.Ordinal)).ToList();
        Assert.Equal(100, changed.Count);
        Assert.Contains(changed, l => l.StartsWith("* 5 FETCH", StringComparison.Ordinal) && !l.Contains("\\Seen", StringComparison.Ordinal));
        Assert.Equal("* SEARCH 5", One(r, "unseen2").GetProperty("v")[0].GetString());
        // The whole-folder STORE took no transaction: the one counted is STORE 5's.
        Assert.Equal(1, after.GetValueOrDefault("table.EntityGroupTransaction") - before.GetValueOrDefault("table.EntityGroupTransaction"));
    }

    [Fact]
    public async Task Folders_can_be_created_listed_renamed_subscribed_and_deleted()
    {
        var r = await fx.PythonAsync("""
m = login("u4@example.test")
out(k="list0", v=t(m.list()[1]))
out(k="create", v=t(m.create("Projects/2026")), dup=t(m.create("Projects/2026")), inbox=t(m.create("inbox")))
m.subscribe("Projects"); m.subscribe("Projects/2026")  # CREATE does not subscribe (RFC 3501 6.3.6)
m.append("Projects/2026", None, None, b"Subject: p\r\n\r\nx\r\n")
out(k="list1", v=t(m.list('""', "Projects*")[1]), pct=t(m.list('""', "%")[1]))
out(k="rename", v=t(m.rename("Projects", "Work")))
out(k="list2", v=t(m.list('""', "*")[1]))
out(k="status", v=t(m.status("Work/2026", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)")))
m.unsubscribe("Work")
out(k="lsub", v=t(m.lsub()[1]))
typ, d = m._simple_command("LIST", "(SUBSCRIBED)", '""', '"*"', "RETURN", "(STATUS (MESSAGES))")
out(k="ext", v=t(m.untagged_responses.get("LIST", [])), st=t(m.untagged_responses.get("STATUS", [])))
m.untagged_responses.clear()
typ, d = m._simple_command("LIST", "(SPECIAL-USE)", '""', '"*"')
out(k="special", v=t(m.untagged_responses.get("LIST", [])))
m.untagged_responses.clear()
out(k="del-parent", v=t(m.delete("Work")))
out(k="del", v=t(m.delete("Work/2026")), again=t(m.delete("Work/2026")), inbox=t(m.delete("INBOX")))
m.append("INBOX", None, None, b"Subject: i\r\n\r\nx\r\n")
out(k="rename-inbox", v=t(m.rename("INBOX", "Old")), inbox=t(m.status("INBOX", "(MESSAGES)")), old=t(m.status("Old", "(MESSAGES)")))
out(k="missing", v=t(m.select("Nope")))
""");
        Assert.Contains("(\\HasNoChildren \\Sent) \"/\" \"Sent\"", S(One(r, "list0"), "v"), StringComparison.Ordinal);
        var create = One(r, "create");
        Assert.Contains("OK", S(create, "v"), StringComparison.Ordinal);
        Assert.Contains("ALREADYEXISTS", S(create, "dup"), StringComparison.Ordinal);
        Assert.Contains("ALREADYEXISTS", S(create, "inbox"), StringComparison.Ordinal);
        Assert.Contains("(\\HasChildren) \"/\" \"Projects\"", S(One(r, "list1"), "v"), StringComparison.Ordinal);
        Assert.Contains("\"Projects/2026\"", S(One(r, "list1"), "v"), StringComparison.Ordinal);
        Assert.DoesNotContain("\"Projects/2026\"", S(One(r, "list1"), "pct"), StringComparison.Ordinal);
        var list2 = S(One(r, "list2"), "v");
        Assert.Contains("\"Work/2026\"", list2, StringComparison.Ordinal);
        Assert.DoesNotContain("Projects", list2, StringComparison.Ordinal);
        Assert.Matches(@"MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1 HIGHESTMODSEQ \d+", S(One(r, "status"), "v"));
        Assert.DoesNotContain("\"Work\"", S(One(r, "lsub"), "v"), StringComparison.Ordinal);
        Assert.Contains("\"Work/2026\"", S(One(r, "lsub"), "v"), StringComparison.Ordinal);
        Assert.Contains("\\Subscribed", S(One(r, "ext"), "v"), StringComparison.Ordinal);
        Assert.Contains("\"Work/2026\" (MESSAGES 1)", S(One(r, "ext"), "st"), StringComparison.Ordinal);
        var special = S(One(r, "special"), "v");
        Assert.Contains("\\Trash", special, StringComparison.Ordinal);
        Assert.DoesNotContain("INBOX", special, StringComparison.Ordinal);
        Assert.Contains("INUSE", S(One(r, "del-parent"), "v"), StringComparison.Ordinal);
        var del = One(r, "del");
        Assert.Contains("OK", S(del, "v"), StringComparison.Ordinal);
        Assert.Contains("NONEXISTENT", S(del, "again"), StringComparison.Ordinal);
        Assert.Contains("NO", S(del, "inbox"), StringComparison.Ordinal);
        var ri = One(r, "rename-inbox");
        Assert.Contains("MESSAGES 0", S(ri, "inbox"), StringComparison.Ordinal);
        Assert.Contains("MESSAGES 1", S(ri, "old"), StringComparison.Ordinal);
        Assert.Contains("NONEXISTENT", S(One(r, "missing"), "v"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_supports_the_rfc3501_keys()
    {
        var r = await fx.PythonAsync("""
m = login("u5@example.test")
msgs = [
  ("(\\Seen)", "From: Alice Smith <alice@remote.example>\r\nTo: u5@example.test\r\nCc: carol@remote.example\r\nSubject: quarterly report\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\nX-Tag: red\r\n\r\nnumbers inside\r\n"),
  ("(\\Flagged)", "From: bob@remote.example\r\nTo: u5@example.test\r\nBcc: hidden@remote.example\r\nSubject: =?UTF-8?Q?caf=C3=A9?= menu\r\nDate: Tue, 10 Mar 2026 10:00:00 +0000\r\n\r\n" + "long line " * 300 + "\r\n"),
  ("(\\Deleted \\Answered)", "From: alice@remote.example\r\nSubject: hello\r\nDate: Wed, 1 Apr 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe aus K=C3=B6ln\r\n"),
]
for flags, body in msgs:
    m.append("INBOX", flags, None, body.encode())
m.select("INBOX")
def s(*crit):
    try:
        typ, d = m.search(None, *crit)
    except imaplib.IMAP4.error as e:
        return "ERR " + str(e)
    return t(d[0])
def u(*crit):
    typ, d = m.uid("search", *crit)
    return t(d[0])
res = {
  "all": s("ALL"), "seen": s("SEEN"), "unseen": s("UNSEEN"), "flagged": s("FLAGGED"), "deleted": s("DELETED"), "undeleted": s("UNDELETED"),
  "answered": s("ANSWERED"), "from": s("FROM", "alice"), "to": s("TO", "u5@"), "cc": s("CC", "carol"), "bcc": s("BCC", "hidden"),
  "subject": s("SUBJECT", "QUARTERLY"),
  "header": s("HEADER", "X-Tag", "red"), "header-any": s("HEADER", "X-Tag", '""'), "body": s("BODY", "numbers"), "text": s("TEXT", "hello"),
  "larger": s("LARGER", "1000"), "smaller": s("SMALLER", "1000"), "sentsince": s("SENTSINCE", "5-Mar-2026"), "sentbefore": s("SENTBEFORE", "5-Mar-2026"),
  "senton": s("SENTON", "10-Mar-2026"), "since": s("SINCE", "1-Jan-2000"), "before": s("BEFORE", "1-Jan-2000"),
  "or": s("OR", "SEEN", "FLAGGED"), "not": s("NOT", "SEEN"), "list": s("(FROM", "alice", "UNSEEN)"), "seq": s("2:*"), "uid": u("UID", "2"),
  "uidsearch": u("FLAGGED"), "new": s("NEW"), "old": s("OLD"), "keyword": s("KEYWORD", "$x"), "unkeyword": s("UNKEYWORD", "$x"),
  "undraft": s("UNDRAFT"), "unflagged": s("UNFLAGGED"), "unanswered": s("UNANSWERED"),
  "bad": s("FROB"), "bad-date": s("SINCE", "yesterday"),
}
out(k="r", v=res)
# UTF-8 search strings as literals: synchronizing (wait for "+") and LITERAL+.
raw = Raw(); raw.login("u5@example.test"); raw.cmd("SELECT INBOX")
raw.send("s1 SEARCH CHARSET UTF-8 BODY {5}\r\n")
cont = raw.line()
raw.send("Köln".encode("utf-8") + b"\r\n")
out(k="utf8", cont=cont, body=raw.until("s1"))
raw.send(b"s2 SEARCH CHARSET UTF-8 SUBJECT {5+}\r\ncaf\xc3\xa9\r\n")
out(k="utf8b", subject=raw.until("s2"))
out(k="charset", v=raw.cmd("SEARCH CHARSET KOI8-R ALL"))
""");
        var v = One(r, "r").GetProperty("v");
        string K(string key) => v.GetProperty(key).GetString()!;
        Assert.Equal("1 2 3", K("all"));
        Assert.Equal("1", K("seen"));
        Assert.Equal("2 3", K("unseen"));
        Assert.Equal("2", K("flagged"));
        Assert.Equal("3", K("deleted"));
        Assert.Equal("1 2", K("undeleted"));
        Assert.Equal("3", K("answered"));
        Assert.Equal("1 3", K("from"));
        Assert.Equal("1 2", K("to"));
        Assert.Equal("1", K("cc"));
        Assert.Equal("2", K("bcc"));
        Assert.Equal("1", K("subject"));
        Assert.Equal("1", K("header"));
        Assert.Equal("1", K("header-any"));
        Assert.Equal("1", K("body"));
        Assert.Equal("3", K("text"));
        Assert.Equal("2", K("larger"));
        Assert.Equal("1 3", K("smaller"));
        Assert.Equal("2 3", K("sentsince"));
        Assert.Equal("1", K("sentbefore"));
        Assert.Equal("2", K("senton"));
        Assert.Equal("1 2 3", K("since"));
        Assert.Equal("", K("before"));
        Assert.Equal("1 2", K("or"));
        Assert.Equal("2 3", K("not"));
        Assert.Equal("3", K("list"));
        Assert.Equal("2 3", K("seq"));
        Assert.Equal("2", K("uid"));
        Assert.Equal("2", K("uidsearch"));
        // This session selected the folder first, so all three are \Recent here; NEW is recent and unseen.
        Assert.Equal("2 3", K("new"));
        Assert.Equal("", K("old"));
        Assert.Equal("", K("keyword"));
        Assert.Equal("1 2 3", K("unkeyword"));
        Assert.Equal("1 2 3", K("undraft"));
        Assert.Equal("1 3", K("unflagged"));
        Assert.Equal("1 2", K("unanswered"));
        Assert.StartsWith("ERR", K("bad"), StringComparison.Ordinal);
        Assert.StartsWith("ERR", K("bad-date"), StringComparison.Ordinal);
        var utf8 = One(r, "utf8");
        Assert.StartsWith("+", S(utf8, "cont"), StringComparison.Ordinal);
        Assert.Equal("* SEARCH 3", utf8.GetProperty("body")[0].GetString());
        Assert.Equal("* SEARCH 2", One(r, "utf8b").GetProperty("subject")[0].GetString());
        Assert.Contains("BADCHARSET", One(r, "charset").GetProperty("v").EnumerateArray().Last().GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Imap4rev2_utf8_names_binary_esearch_searchres_and_status_size()
    {
        var r = await fx.PythonAsync("""
raw = Raw(); raw.login("u13@example.test")
# IMAP4rev1 names are modified UTF-7; they are stored as UTF-8.
out(k="create", v=raw.cmd('CREATE "Entw&APw-rfe"'))
out(k="list1", v=raw.cmd('LIST "" "Entw*"'))
msg = b"Subject: bin\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nK=C3=B6ln\r\n--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC/w==\r\n--x--\r\n"
raw.send(("a1 APPEND INBOX {%d+}\r\n" % len(msg)).encode() + msg + b"\r\n")
out(k="append", v=raw.until("a1"))
raw.cmd("APPEND INBOX {19+}\r\nSubject: second\r\n\r\n")
out(k="select", v=raw.cmd("SELECT INBOX"))
raw.send(b"b1 FETCH 1 (BINARY[1] BINARY.SIZE[2] BINARY.PEEK[2])\r\n")
data = b""
while b"b1 OK" not in data and b"b1 NO" not in data and b"b1 BAD" not in data:
    data += raw.s.recv(65536)
out(k="binary", v=data.decode("latin-1"))
out(k="save", v=raw.cmd("SEARCH RETURN (SAVE) SUBJECT second"))
out(k="use", v=raw.cmd("FETCH $ (UID)"))
out(k="enable", v=raw.cmd("ENABLE IMAP4rev2"))
out(k="list2", v=raw.cmd('LIST "" "Entw*"'))
out(k="select2", v=raw.cmd("SELECT INBOX"))
out(k="esearch", v=raw.cmd("UID SEARCH ALL"))
out(k="size", v=raw.cmd("STATUS INBOX (MESSAGES SIZE)"))
""");
        string Last(string kind) => One(r, kind).GetProperty("v").EnumerateArray().Last().GetString()!;
        List<string> All(string kind) => One(r, kind).GetProperty("v").EnumerateArray().Select(x => x.GetString()!).ToList();
        Assert.Contains(" OK", Last("create"), StringComparison.Ordinal);
        Assert.Contains("* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe\"", All("list1"));
        Assert.Contains(All("select"), l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\* \d+ RECENT$"));
        var binary = S(One(r, "binary"), "v");
        Assert.Contains("BINARY[1] {5}\r\nK\u00c3\u00b6ln", binary, StringComparison.Ordinal); // UTF-8 bytes of "Köln" read as Latin-1
        Assert.Contains("BINARY.SIZE[2] 4", binary, StringComparison.Ordinal);
        Assert.Contains("BINARY[2] ~{4}\r\n\u0000\u0001\u0002\u00ff", binary, StringComparison.Ordinal);
        Assert.Matches(@"FLAGS \((\\Recent )?\\Seen\)", binary);
        Assert.DoesNotContain(All("save"), l => l.StartsWith("* ", StringComparison.Ordinal));
        Assert.Contains("* 2 FETCH (UID 2)", All("use"));
        Assert.Contains("* ENABLED IMAP4rev2", All("enable"));
        Assert.Contains(All("list2"), l => l.StartsWith("* LIST (\\HasNoChildren) \"/\" {9}", StringComparison.Ordinal) && l.EndsWith("Entw\u00fcrfe", StringComparison.Ordinal));
        Assert.DoesNotContain(All("select2"), l => l.EndsWith("RECENT", StringComparison.Ordinal));
        Assert.Contains(All("esearch"), l => l.StartsWith("* ESEARCH (TAG \"r", StringComparison.Ordinal) && l.EndsWith(" UID ALL 1:2", StringComparison.Ordinal));
        Assert.Contains(All("size"), l => l.StartsWith("* STATUS INBOX (MESSAGES 2 SIZE ", StringComparison.Ordinal) || l.StartsWith("* STATUS \"INBOX\" (MESSAGES 2 SIZE ", StringComparison.Ordinal));
    }
}
