using System.Text.Json;
using MailCloud.Core;
using MailCloud.Data;

namespace MailCloud.FunctionalTests.Pop3;

/// <summary>POP3 with real clients: python3 poplib, raw sockets and curl, over real TLS.</summary>
public sealed class Pop3Tests(Pop3Fixture pop) : IClassFixture<Pop3Fixture>
{
    private const string Prelude = """
import poplib, ssl, os, json, socket, base64, hashlib, hmac, time
ctx = ssl._create_unverified_context()
POP = int(os.environ["POP"]); POPS = int(os.environ["POPS"]); PW = os.environ["PASSWORD"]
def out(**kw): print(json.dumps(kw), flush=True)
def t(b): return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
class Raw:
    def __init__(self, port, tls=False, src="127.0.0.1"):
        s = socket.create_connection(("127.0.0.1", port), source_address=(src, 0), timeout=15)
        self.s = ctx.wrap_socket(s) if tls else s
        self.f = self.s.makefile("rb")
        self.greeting = self.line()
    def line(self):
        l = self.f.readline()
        return l.decode("utf-8", "replace").rstrip("\r\n") if l else "EOF"
    def cmd(self, c):
        self.s.sendall((c + "\r\n").encode()); return self.line()
    def multi(self):
        lines = []
        while True:
            l = self.line()
            if l in (".", "EOF"): return lines
            lines.append(l)
""";

    private async Task<List<JsonElement>> PythonAsync(string body)
    {
        var r = await ExternalProcess.PythonAsync(Prelude + "\n" + body, pop.Env);
        Assert.True(r.ExitCode == 0, $"python failed: {r.Stderr}\n{r.Stdout}");
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    private static string S(JsonElement e, string name) => e.GetProperty(name).ToString();

    [Fact]
    public async Task Download_and_delete_with_poplib_over_stls()
    {
        await pop.DeliverAsync("alice@example.test", "Subject: one\r\nFrom: a@b.example\r\n\r\nfirst body\r\n.leading dot line\r\n");
        await pop.DeliverAsync("alice@example.test", "Subject: two\r\n\r\nsecond\r\n");
        await pop.DeliverAsync("alice@example.test", "Subject: three\r\n\r\nthird\r\nline 2\r\nline 3\r\n");
        var usageBefore = (await TableMailboxUsage.SumAsync(pop.Account.Tables.GetTableClient(StorageNames.MailboxTable), MailAddress.Parse("alice@example.test"), default)).UsedBytes;

        var r = await PythonAsync("""
p = poplib.POP3("127.0.0.1", POP, timeout=15)
out(k="capa-plain", caps=sorted(p.capa().keys()))
p.stls(context=ctx)
out(k="capa-tls", caps=sorted(p.capa().keys()))
p.user("alice@example.test"); p.pass_(PW)
out(k="stat", v=list(p.stat()))
out(k="list", v=[t(x) for x in p.list()[1]])
out(k="uidl", v=[t(x) for x in p.uidl()[1]])
resp, lines, octets = p.retr(1)
out(k="retr1", v=[t(x) for x in lines], octets=octets)
resp, lines, octets = p.top(3, 1)
out(k="top3", v=[t(x) for x in lines])
out(k="dele2", v=t(p.dele(2)))
try: p.dele(2)
except poplib.error_proto as e: out(k="dele2again", v=t(e.args[0]))
out(k="stat-after-dele", v=list(p.stat()))
p.rset()
out(k="stat-after-rset", v=list(p.stat()))
p.dele(2)
out(k="quit", v=t(p.quit()))
p = poplib.POP3_SSL("127.0.0.1", POPS, context=ctx, timeout=15)
p.user("alice@example.test"); p.pass_(PW)
out(k="stat2", v=list(p.stat()))
out(k="uidl2", v=[t(x) for x in p.uidl()[1]])
p.quit()
""");
        JsonElement Get(string k) => r.Single(x => S(x, "k") == k);
        var plainCaps = Get("capa-plain").GetProperty("caps").EnumerateArray().Select(x => x.GetString()).ToList();
        Assert.Contains("STLS", plainCaps);
        Assert.DoesNotContain("USER", plainCaps); // no plain-text login before TLS
        var tlsCaps = Get("capa-tls").GetProperty("caps").EnumerateArray().Select(x => x.GetString()).ToList();
        Assert.Contains("USER", tlsCaps);
        Assert.Contains("SASL", tlsCaps);
        Assert.DoesNotContain("STLS", tlsCaps);

        Assert.Equal(3, Get("stat").GetProperty("v")[0].GetInt32());
        var uidls = Get("uidl").GetProperty("v").EnumerateArray().Select(x => x.GetString()!.Split(' ')[1]).ToList();
        Assert.Equal(3, uidls.Distinct().Count());
        Assert.Equal(["Subject: one", "From: a@b.example", "", "first body", ".leading dot line"], Get("retr1").GetProperty("v").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(["Subject: three", "", "third"], Get("top3").GetProperty("v").EnumerateArray().Select(x => x.GetString()));
        Assert.StartsWith("-ERR", S(Get("dele2again"), "v"), StringComparison.Ordinal);
        Assert.Equal(2, Get("stat-after-dele").GetProperty("v")[0].GetInt32());
        Assert.Equal(3, Get("stat-after-rset").GetProperty("v")[0].GetInt32());
        Assert.StartsWith("+OK", S(Get("quit"), "v"), StringComparison.Ordinal);

        // Deleted at QUIT, and only that one; the others keep their unique ids.
        Assert.Equal(2, Get("stat2").GetProperty("v")[0].GetInt32());
        var uidls2 = Get("uidl2").GetProperty("v").EnumerateArray().Select(x => x.GetString()!.Split(' ')[1]).ToList();
        Assert.Equal([uidls[0], uidls[2]], uidls2);
        var usageAfter = (await TableMailboxUsage.SumAsync(pop.Account.Tables.GetTableClient(StorageNames.MailboxTable), MailAddress.Parse("alice@example.test"), default)).UsedBytes;
        Assert.True(usageAfter < usageBefore);
    }

    [Fact]
    public async Task Sasl_plain_and_scram_and_the_maildrop_lock()
    {
        await pop.DeliverAsync("bob@example.test", "Subject: for bob\r\n\r\nhi bob\r\n");
        var r = await PythonAsync("""
a = Raw(POPS, tls=True)
out(k="plain", v=a.cmd("AUTH PLAIN " + base64.b64encode(b"\0bob@example.test\0" + PW.encode()).decode()))
b = Raw(POPS, tls=True)
out(k="locked", v=b.cmd("AUTH PLAIN " + base64.b64encode(b"\0bob@example.test\0" + PW.encode()).decode()))
out(k="quit-a", v=a.cmd("QUIT"))
# SCRAM-SHA-256 (RFC 5802) with "+ " continuations (RFC 5034), now that the lock is free.
cnonce = base64.b64encode(os.urandom(18)).decode()
first_bare = "n=bob@example.test,r=" + cnonce
ch = b.cmd("AUTH SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()).decode())
server_first = base64.b64decode(ch[2:]).decode()
attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
salted = hashlib.pbkdf2_hmac("sha256", PW.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
ck = hmac.new(salted, b"Client Key", "sha256").digest()
without = "c=biws,r=" + attrs["r"]
am = (first_bare + "," + server_first + "," + without).encode()
proof = bytes(x ^ y for x, y in zip(ck, hmac.new(hashlib.sha256(ck).digest(), am, "sha256").digest()))
final = b.cmd(base64.b64encode((without + ",p=" + base64.b64encode(proof).decode()).encode()).decode())
expected = "v=" + base64.b64encode(hmac.new(hmac.new(salted, b"Server Key", "sha256").digest(), am, "sha256").digest()).decode()
out(k="scram-final", v=base64.b64decode(final[2:]).decode() == expected)
out(k="scram-done", v=b.cmd(""))
out(k="stat", v=b.cmd("STAT"))
b.cmd("QUIT")
""");
        JsonElement Get(string k) => r.Single(x => S(x, "k") == k);
        Assert.StartsWith("+OK", S(Get("plain"), "v"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR [IN-USE]", S(Get("locked"), "v"), StringComparison.Ordinal);
        Assert.True(Get("scram-final").GetProperty("v").GetBoolean());
        Assert.StartsWith("+OK", S(Get("scram-done"), "v"), StringComparison.Ordinal);
        Assert.StartsWith("+OK 1 ", S(Get("stat"), "v"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_input_gets_err_and_the_session_goes_on()
    {
        var r = await PythonAsync("""
c = Raw(POP)
out(k="user-plain", v=c.cmd("USER carol@example.test"))
out(k="garbage", v=c.cmd("XYZZY"))
out(k="stat-early", v=c.cmd("STAT"))
out(k="long", v=c.cmd("NOOP " + "x" * 400))
out(k="capa", v=c.cmd("CAPA")); c.multi()
c.cmd("STLS")
c.s = ctx.wrap_socket(c.s); c.f = c.s.makefile("rb")
c.cmd("USER carol@example.test")
out(k="wrong", v=c.cmd("PASS not the password"))
c.cmd("USER carol@example.test")
out(k="right", v=c.cmd("PASS " + PW))
out(k="retr-missing", v=c.cmd("RETR 99"))
out(k="top-bad", v=c.cmd("TOP x y"))
out(k="noop", v=c.cmd("NOOP"))
out(k="quit", v=c.cmd("QUIT"))
""");
        JsonElement Get(string k) => r.Single(x => S(x, "k") == k);
        Assert.StartsWith("-ERR [AUTH]", S(Get("user-plain"), "v"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", S(Get("garbage"), "v"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", S(Get("stat-early"), "v"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", S(Get("long"), "v"), StringComparison.Ordinal);
        Assert.StartsWith("+OK", S(Get("capa"), "v"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR [AUTH]", S(Get("wrong"), "v"), StringComparison.Ordinal);
        Assert.StartsWith("+OK carol@example.test has 0 messages", S(Get("right"), "v"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", S(Get("retr-missing"), "v"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", S(Get("top-bad"), "v"), StringComparison.Ordinal);
        Assert.Equal("+OK", S(Get("noop"), "v"));
        Assert.StartsWith("+OK", S(Get("quit"), "v"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repeated_wrong_passwords_are_throttled_per_address()
    {
        var r = await PythonAsync("""
for i in range(4):
    c = Raw(POPS, tls=True, src="127.0.0.2")
    c.cmd("USER dave@example.test")
    out(i=i, v=c.cmd("PASS wrong password"))
    c.s.close()
c = Raw(POPS, tls=True)
c.cmd("USER dave@example.test")
out(i="other", v=c.cmd("PASS " + PW))
c.cmd("QUIT")
""");
        Assert.StartsWith("-ERR [AUTH] Authentication failed", S(r[0], "v"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR [AUTH] Too many", S(r[3], "v"), StringComparison.Ordinal);
        Assert.StartsWith("+OK", S(r[4], "v"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Curl_lists_and_retrieves_over_pop3s()
    {
        await pop.DeliverAsync("erin@example.test", "Subject: via curl\r\n\r\ncurl reads this\r\n");
        var list = await ExternalProcess.RunAsync("curl", ["--silent", "--show-error", "--insecure", $"pop3s://127.0.0.1:{pop.TlsPort}/", "--user", $"erin@example.test:{Pop3Fixture.Password}"]);
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Matches(@"^1 \d+\r?\n", list.Stdout);
        var retr = await ExternalProcess.RunAsync("curl", ["--silent", "--show-error", "--insecure", $"pop3s://127.0.0.1:{pop.TlsPort}/1", "--user", $"erin@example.test:{Pop3Fixture.Password}"]);
        Assert.True(retr.ExitCode == 0, retr.Stderr);
        Assert.Contains("curl reads this", retr.Stdout, StringComparison.Ordinal);
    }
}
