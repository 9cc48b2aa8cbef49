using System.Text;
using MailCloud.Imap;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailCloud.UnitTests.Sessions;

/// <summary>IMAP sessions over the in-memory store: protocol decisions without sockets or Azurite (transcript tests).</summary>
public sealed class ImapSessionUnitTests : IAsyncLifetime, IDisposable
{
    private readonly InMemoryMailStore _store = new();
    private readonly InMemoryDirectory _directory = new();
    private FolderWatcher _watcher = null!;

    private static byte[] Message(string subject, string body = "Hello there.\r\n") =>
        Encoding.ASCII.GetBytes($"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: {subject}\r\nDate: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <{subject}@example.test>\r\n\r\n{body}");

    public async Task InitializeAsync()
    {
        _watcher = new FolderWatcher(_store, TimeSpan.FromHours(1), NullLogger.Instance);
        var bob = _directory.AddUser("bob@example.test", "bob password");
        foreach (var s in new[] { "first", "second", "third" })
            await _store.DeliverAsync(bob, Message(s));
    }

    public async Task DisposeAsync() => await _watcher.DisposeAsync();

    public void Dispose() => _watcher.DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task<ImapHarness> LoggedInAsync()
    {
        var imap = new ImapHarness(_store, _directory, _watcher);
        Assert.Contains("a OK", await imap.SendAsync("a LOGIN bob@example.test \"bob password\""), StringComparison.Ordinal);
        return imap;
    }

    [Fact]
    public async Task Login_waits_for_tls_and_a_wrong_password_is_refused()
    {
        using var plain = new ImapHarness(_store, _directory, _watcher, tls: false);
        Assert.Contains("LOGINDISABLED", await plain.SendAsync("a CAPABILITY"), StringComparison.Ordinal);
        Assert.StartsWith("b NO", await plain.SendAsync("b LOGIN bob@example.test \"bob password\""), StringComparison.Ordinal);

        using var tls = new ImapHarness(_store, _directory, _watcher);
        Assert.Contains("c NO [AUTHENTICATIONFAILED]", await tls.SendAsync("c LOGIN bob@example.test wrong"), StringComparison.Ordinal);
        Assert.Contains("d OK", await tls.SendAsync("d LOGIN bob@example.test \"bob password\""), StringComparison.Ordinal);
        Assert.Contains("e BAD", await tls.SendAsync("e FETCH 1 FLAGS"), StringComparison.Ordinal); // nothing selected
    }

    [Fact]
    public async Task A_user_disabled_mid_session_gets_bye_at_the_next_command()
    {
        using var imap = await LoggedInAsync();
        await imap.SendAsync("s SELECT INBOX");
        var bob = MailCloud.Core.MailAddress.Parse("bob@example.test");
        await _directory.SetDisabledAsync(bob, true);
        Assert.Equal("* BYE This account is disabled\r\n", await imap.SendAsync("n NOOP"));
        Assert.Equal(ImapState.Logout, imap.Session.State);
        using var again = new ImapHarness(_store, _directory, _watcher);
        Assert.Contains("l NO [AUTHENTICATIONFAILED]", await again.SendAsync("l LOGIN bob@example.test \"bob password\""), StringComparison.Ordinal);
        await _directory.SetDisabledAsync(bob, false);
    }

    [Fact]
    public async Task Select_fetch_and_search_read_the_index_and_body_sections_come_byte_exact()
    {
        using var imap = await LoggedInAsync();
        var select = await imap.SendAsync("s SELECT INBOX");
        Assert.Contains("* 3 EXISTS", select, StringComparison.Ordinal);
        Assert.Matches(@"\* OK \[UIDVALIDITY \d+\]", select);
        Assert.Contains("* OK [UIDNEXT 4]", select, StringComparison.Ordinal);

        int readsBefore = _store.BlobReads;
        var envelopes = await imap.SendAsync("f FETCH 1:3 (UID FLAGS ENVELOPE)");
        Assert.Contains("* 2 FETCH (UID 2 FLAGS (\\Recent) ENVELOPE (\"Tue, 01 Dec 2026 08:00:00 +0000\" \"second\"", envelopes, StringComparison.Ordinal);
        Assert.Equal(readsBefore, _store.BlobReads); // summaries come from the index rows, not the blobs

        var body = await imap.SendAsync("g FETCH 2 BODY.PEEK[]");
        var expected = Encoding.ASCII.GetString(Message("second"));
        Assert.Contains($"BODY[] {{{expected.Length}}}\r\n{expected})", body, StringComparison.Ordinal);
        Assert.Contains("g OK", body, StringComparison.Ordinal);

        Assert.Contains("* SEARCH 3", await imap.SendAsync("h SEARCH SUBJECT third"), StringComparison.Ordinal);
        Assert.Contains("* SEARCH 1 2 3", await imap.SendAsync("i UID SEARCH FROM alice"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Store_expunge_and_copy_change_the_store_and_another_session_hears_of_it()
    {
        using var a = await LoggedInAsync();
        using var b = await LoggedInAsync();
        await a.SendAsync("s SELECT INBOX");
        await b.SendAsync("s SELECT INBOX");

        // a selected first, so the messages are \Recent in a and not in b (RFC 3501 2.3.2: one session each).
        Assert.Contains("* 1 FETCH (FLAGS (\\Deleted \\Recent))", await a.SendAsync("t STORE 1 +FLAGS (\\Deleted)"), StringComparison.Ordinal);
        Assert.Contains("* 1 FETCH (UID 1 FLAGS (\\Deleted))", await b.SendAsync("n NOOP"), StringComparison.Ordinal);

        Assert.Contains("c NO [TRYCREATE]", await a.SendAsync("c COPY 2:3 Archive"), StringComparison.Ordinal);
        Assert.Contains("m OK", await a.SendAsync("m CREATE Archive"), StringComparison.Ordinal);
        Assert.Matches(@"c2 OK \[COPYUID \d+ 2:3 1:2\]", await a.SendAsync("c2 COPY 2:3 Archive"));

        var expunge = await a.SendAsync("e EXPUNGE");
        Assert.Contains("* 1 EXPUNGE", expunge, StringComparison.Ordinal);
        Assert.Equal(2, (await _store.OpenAsync(Core.MailAddress.Parse("bob@example.test"), "INBOX")).Messages.Count);
        Assert.Equal(2, (await _store.OpenAsync(Core.MailAddress.Parse("bob@example.test"), "Archive")).Messages.Count);

        // The other session learns of the expunge at its next command boundary, with its own sequence numbers.
        var heard = await b.SendAsync("n2 NOOP");
        Assert.Contains("* 1 EXPUNGE", heard, StringComparison.Ordinal);
        Assert.Contains("* SEARCH 1 2", await b.SendAsync("x SEARCH ALL"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_storage_outage_is_a_temporary_no_and_the_session_goes_on()
    {
        using var imap = await LoggedInAsync();
        _store.Down = true;
        Assert.Contains("s NO [UNAVAILABLE]", await imap.SendAsync("s SELECT INBOX"), StringComparison.Ordinal);
        _store.Down = false;
        Assert.Contains("* 3 EXISTS", await imap.SendAsync("s2 SELECT INBOX"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_gets_bad_and_too_much_of_it_ends_the_session()
    {
        using var imap = await LoggedInAsync();
        Assert.Contains("x BAD", await imap.SendAsync("x FROBNICATE"), StringComparison.Ordinal);
        Assert.Contains("y BAD", await imap.SendAsync("y FETCH"), StringComparison.Ordinal);
        Assert.Contains("z OK", await imap.SendAsync("z NOOP"), StringComparison.Ordinal);
    }
}
