using System.Text;
using System.Text.RegularExpressions;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Imap;
using MailCloud.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailCloud.UnitTests.Sessions;

/// <summary>
/// A delivered copy is its verdict's header lines followed by the untouched blob. Every FETCH item and POP3 answer
/// must be exactly what they would be if those lines were written into the blob itself: each response for a copy
/// with a prefix is compared with the response for a copy whose blob holds prefix + message.
/// </summary>
public sealed partial class VerdictPrefixTests : IAsyncLifetime, IDisposable
{
    private readonly InMemoryMailStore _store = new();
    private readonly InMemoryDirectory _directory = new();
    private FolderWatcher _watcher = null!;
    private MailAddress _bob = null!;

    private static readonly byte[] Multipart = Encoding.ASCII.GetBytes(
        "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: report\r\nDate: Tue, 01 Dec 2026 08:00:00 +0000\r\n" +
        "Message-ID: <report@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n" +
        "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee the attachment.\r\n" +
        "--b1\r\nContent-Type: application/octet-stream; name=data.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgc=\r\n" +
        "--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@example.test\r\nSubject: inner\r\n\r\ninner body\r\n" +
        "--b1--\r\n");

    private static byte[] Prefix() => VerdictHeaders.Build(new Verdict
    {
        SpamScore = 6.2,
        Engine = "rspamd",
        EngineAction = "add header",
        EngineScore = 6.2,
        Symbols = ["GTUBE(0.0)", "R_SPF_FAIL(1.0)"],
        VirusScan = "clean",
        AuthenticationResults = "mx.test; spf=fail smtp.mailfrom=alice@example.test; dkim=none; dmarc=none header.from=example.test",
    }, Disposition.Junk, null);

    public async Task InitializeAsync()
    {
        _watcher = new FolderWatcher(_store, TimeSpan.FromHours(1), NullLogger.Instance);
        _bob = _directory.AddUser("bob@example.test", "bob password");
        var prefix = Prefix();
        await _store.DeliverAsync(_bob, Multipart, prefix: prefix);        // UID 1: prefix kept beside the blob
        await _store.DeliverAsync(_bob, [.. prefix, .. Multipart]);        // UID 2: the same bytes in the blob
    }

    public async Task DisposeAsync() => await _watcher.DisposeAsync();

    public void Dispose() => _watcher.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Theory]
    [InlineData("RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY")]
    [InlineData("BODY.PEEK[]")]
    [InlineData("BODY.PEEK[HEADER]")]
    [InlineData("BODY.PEEK[TEXT]")]
    [InlineData("BODY.PEEK[HEADER.FIELDS (X-Spam-Score Subject Authentication-Results)]")]
    [InlineData("BODY.PEEK[HEADER.FIELDS.NOT (X-Spam-Status)]")]
    [InlineData("BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT]")]
    [InlineData("BODY.PEEK[]<0.40> BODY.PEEK[]<100.300> BODY.PEEK[]<5000.10>")]
    [InlineData("BINARY.PEEK[2] BINARY.SIZE[2] RFC822.HEADER")]
    public async Task Every_fetch_item_is_as_if_the_prefix_were_in_the_blob(string items)
    {
        using var imap = new ImapHarness(_store, _directory, _watcher);
        await imap.SendAsync("a LOGIN bob@example.test \"bob password\"");
        await imap.SendAsync("b SELECT INBOX");
        var prefixed = Body(await imap.SendAsync($"c UID FETCH 1 ({items})"));
        var inBlob = Body(await imap.SendAsync($"d UID FETCH 2 ({items})"));
        Assert.Equal(inBlob, prefixed);
        Assert.DoesNotContain("] NIL", prefixed, StringComparison.Ordinal); // every section was found
    }

    [Fact]
    public async Task The_verdict_headers_are_served_and_searchable()
    {
        using var imap = new ImapHarness(_store, _directory, _watcher);
        await imap.SendAsync("a LOGIN bob@example.test \"bob password\"");
        await imap.SendAsync("b SELECT INBOX");
        var fields = await imap.SendAsync("c UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (X-Spam-Flag X-Spam-Score X-Virus-Scanned)])");
        Assert.Contains("X-Spam-Flag: YES\r\nX-Spam-Score: 6.2\r\nX-Virus-Scanned: clamd; clean\r\n", fields, StringComparison.Ordinal);
        Assert.Contains("* SEARCH 1 2", await imap.SendAsync("d UID SEARCH HEADER X-Spam-Flag YES"), StringComparison.Ordinal);
        Assert.Contains("* SEARCH 1 2", await imap.SendAsync("e UID SEARCH TEXT attachment"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pop3_serves_the_prefix_and_counts_it()
    {
        var pop = new Pop3Harness(_store, _directory);
        await pop.SendAsync("USER bob@example.test");
        await pop.SendAsync("PASS bob password");
        var list = (await pop.SendAsync("LIST")).Reply;
        var sizes = PopSize().Matches(list).Select(m => m.Groups[2].Value).ToList();
        Assert.Equal(2, sizes.Count);
        Assert.Equal(sizes[1], sizes[0]);
        var first = (await pop.SendAsync("RETR 1")).Reply;
        var second = (await pop.SendAsync("RETR 2")).Reply;
        Assert.Equal(second, first);
        Assert.StartsWith($"+OK {sizes[0]} octets\r\nAuthentication-Results: mx.test;", first, StringComparison.Ordinal);
        Assert.Equal((await pop.SendAsync("TOP 2 1")).Reply, (await pop.SendAsync("TOP 1 1")).Reply);
    }

    [Fact]
    public void The_header_block_is_folded_parseable_and_ends_every_line_in_crlf()
    {
        var text = Encoding.UTF8.GetString(Prefix());
        Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", text.Replace("\r\n", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.All(text.Split("\r\n"), line => Assert.True(line.Length <= 78, line));
        var parsed = Mime.MimeParser.Parse(Encoding.ASCII.GetBytes(text + "\r\nbody\r\n"));
        Assert.Equal("mx.test; spf=fail smtp.mailfrom=alice@example.test; dkim=none; dmarc=none header.from=example.test",
            Regex.Replace(parsed.GetHeader("Authentication-Results")!.Value, @"\s+", " "));
        Assert.Equal("6.2", parsed.GetHeader("X-Spam-Score")!.Value.Trim());
        Assert.Matches(@"^Yes, score=6\.2 engine=rspamd action=""add header"" tests=GTUBE\(0\.0\), R_SPF_FAIL\(1\.0\)$", Regex.Replace(parsed.GetHeader("X-Spam-Status")!.Value, @"\s+", " ").Trim());
    }

    /// <summary>The FETCH response without its sequence number, UID and tag (the two messages differ only there).</summary>
    private static string Body(string response)
    {
        var start = response.IndexOf("FETCH (", StringComparison.Ordinal);
        var end = response.LastIndexOf("\r\n", response.Length - 3, StringComparison.Ordinal);
        return Regex.Replace(response[start..end], @"UID \d+ ?", string.Empty);
    }

    [GeneratedRegex(@"^(\d+) (\d+)\r$", RegexOptions.Multiline)]
    private static partial Regex PopSize();
}
