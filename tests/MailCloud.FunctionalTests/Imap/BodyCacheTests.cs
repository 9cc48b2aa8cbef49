using static MailCloud.FunctionalTests.Imap.JsonLines;

namespace MailCloud.FunctionalTests.Imap;

/// <summary>
/// The IMAP host keeps small raw messages it wrote (APPEND) or read whole (BODY[]) in memory, so fetching them again
/// or in parts costs no blob read; a large one, or a part of one never read whole, goes to storage every time. Real
/// imaplib over TLS against the real server on Azurite; the blob reads are counted with the request counter, and
/// every answer is compared byte for byte with the message sent.
/// </summary>
public sealed class BodyCacheTests(ImapFixture fx) : IClassFixture<ImapFixture>
{
    private long BlobReads() => fx.Account.RequestCounter.Snapshot().GetValueOrDefault("blob.GetBlob");

    private async Task<(List<System.Text.Json.JsonElement> Lines, long BlobReads)> RunAsync(string script)
    {
        long before = BlobReads();
        var lines = await fx.PythonAsync(Fetch + "\n" + script);
        return (lines, BlobReads() - before);
    }

    /// <summary>Helpers for the scripts (a raw string ends without its last newline, so each script adds one).</summary>
    private const string Fetch = """
def body(m, uid, section):
    typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[%s])" % section)
    assert typ == "OK", data
    return next(d[1] for d in data if isinstance(d, tuple))
def digest(b): return hashlib.sha256(b).hexdigest()
""";

    [Fact]
    public async Task A_message_appended_or_read_whole_is_served_from_memory_and_a_large_one_from_storage()
    {
        // APPEND a small multipart message and one of 300 KiB (over the 256 KiB a cached message may have).
        var (appended, _) = await RunAsync("""
small = b"From: a@remote.example\r\nSubject: small\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n"
large = b"From: a@remote.example\r\nSubject: large\r\n\r\n" + (b"x" * 998 + b"\r\n") * 300
m = login("u1@example.test")
r1 = m.append("INBOX", None, None, small); r2 = m.append("INBOX", None, None, large)
uid = lambda r: int(re.search(rb"APPENDUID \d+ (\d+)", r[1][0]).group(1))
out(k="appended", small=uid(r1), large=uid(r2), smallsha=digest(small), largesha=digest(large), part2=digest(b"second part"))
""");
        var a = One(appended, "appended");
        long small = a.GetProperty("small").GetInt64(), large = a.GetProperty("large").GetInt64();

        // The appended message, whole and in parts: no blob read at all.
        var (fromMemory, reads) = await RunAsync($"""
m = login("u1@example.test"); m.select("INBOX")
out(k="small", whole=digest(body(m, {small}, "")), part2=digest(body(m, {small}, "2")), again=digest(body(m, {small}, "")))
""");
        Assert.Equal(0, reads);
        var s = One(fromMemory, "small");
        Assert.Equal(S(a, "smallsha"), S(s, "whole"));
        Assert.Equal(S(a, "smallsha"), S(s, "again"));
        Assert.Equal(S(a, "part2"), S(s, "part2"));

        // The large one is never kept: each read is a blob GET, and still byte for byte the message.
        var (fromStorage, largeReads) = await RunAsync($"""
m = login("u1@example.test"); m.select("INBOX")
out(k="large", first=digest(body(m, {large}, "")), second=digest(body(m, {large}, "")))
""");
        Assert.Equal(2, largeReads);
        Assert.Equal(S(a, "largesha"), S(One(fromStorage, "large"), "first"));
        Assert.Equal(S(a, "largesha"), S(One(fromStorage, "large"), "second"));
    }

    [Fact]
    public async Task A_delivered_message_is_read_once_whole_and_then_from_memory_with_its_delivery_headers()
    {
        // Delivered by the pipeline: its blob was written by another process, so this host has never seen it.
        await fx.PythonAsync("""smtp_send("ann@remote.example", "u2@example.test", "cached delivery", "the body of it")""");
        await fx.WaitForAsync("u2@example.test", "cached delivery");

        // A part first (a ranged read, which fills nothing), then the whole (one read, kept), then both again.
        var (lines, reads) = await RunAsync("""
m = login("u2@example.test"); m.select("INBOX")
uid = int(m.uid("SEARCH", None, 'SUBJECT "cached delivery"')[1][0].split()[-1])
out(k="first", text=t(body(m, uid, "TEXT")), whole=t(body(m, uid, "")))
""");
        Assert.Equal(2, reads);
        var first = One(lines, "first");
        var (again, readsAgain) = await RunAsync("""
m = login("u2@example.test"); m.select("INBOX")
uid = int(m.uid("SEARCH", None, 'SUBJECT "cached delivery"')[1][0].split()[-1])
out(k="again", text=t(body(m, uid, "TEXT")), whole=t(body(m, uid, "")), header=t(body(m, uid, "HEADER.FIELDS (SUBJECT)")))
""");
        Assert.Equal(0, readsAgain);
        var second = One(again, "again");
        Assert.StartsWith("the body of it", S(first, "text"), StringComparison.Ordinal);
        Assert.Equal(S(first, "text"), S(second, "text"));
        Assert.Equal(S(first, "whole"), S(second, "whole"));
        // As served: the delivery's own header lines (kept beside the blob) in front of the message as sent.
        Assert.StartsWith("Authentication-Results: ", S(second, "whole"), StringComparison.Ordinal);
        Assert.Contains("Subject: cached delivery", S(second, "whole"), StringComparison.Ordinal);
        Assert.Contains("cached delivery", S(second, "header"), StringComparison.Ordinal);
    }
}
