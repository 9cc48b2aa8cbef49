using System.Text;
using MailCloud.Core;
using MailCloud.Pop3;

namespace MailCloud.UnitTests.Sessions;

/// <summary>POP3 sessions over the in-memory store (transcript tests, no sockets or Azurite).</summary>
public sealed class Pop3SessionUnitTests : IAsyncLifetime
{
    private readonly InMemoryMailStore _store = new();
    private readonly InMemoryDirectory _directory = new();
    private MailAddress _carol = null!;
    private static readonly byte[] Dotted = Encoding.ASCII.GetBytes("Subject: dots\r\n\r\n.leading dot\r\nend\r\n");

    public async Task InitializeAsync()
    {
        _carol = _directory.AddUser("carol@example.test", "carol password");
        await _store.DeliverAsync(_carol, Encoding.ASCII.GetBytes("Subject: one\r\n\r\nfirst\r\n"));
        await _store.DeliverAsync(_carol, Dotted);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static async Task<Pop3Harness> LoginAsync(InMemoryMailStore store, InMemoryDirectory directory)
    {
        var pop = new Pop3Harness(store, directory);
        Assert.StartsWith("+OK", (await pop.SendAsync("USER carol@example.test")).Reply, StringComparison.Ordinal);
        Assert.StartsWith("+OK", (await pop.SendAsync("PASS carol password")).Reply, StringComparison.Ordinal);
        return pop;
    }

    [Fact]
    public async Task A_user_disabled_mid_session_is_let_go_without_the_deletions()
    {
        var pop = await LoginAsync(_store, _directory);
        Assert.StartsWith("+OK", (await pop.SendAsync("DELE 1")).Reply, StringComparison.Ordinal);
        await _directory.SetDisabledAsync(_carol, true);
        var (action, reply) = await pop.SendAsync("STAT");
        Assert.Equal("-ERR [AUTH] This account is disabled\r\n", reply);
        Assert.Equal(Pop3Action.Close, action);
        Assert.Equal(2, (await _store.GetUsageAsync(_carol)).Messages); // DELE applies only on QUIT
        await pop.Session.Lock!.DisposeAsync(); // as the connection handler does when it closes
        await _directory.SetDisabledAsync(_carol, false);
        Assert.StartsWith("+OK 2 ", (await (await LoginAsync(_store, _directory)).SendAsync("STAT")).Reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_login_needs_tls()
    {
        var pop = new Pop3Harness(_store, _directory, tls: false);
        await pop.SendAsync("USER carol@example.test");
        Assert.StartsWith("-ERR", (await pop.SendAsync("PASS carol password")).Reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stat_list_uidl_and_retr_with_dot_stuffing()
    {
        var pop = await LoginAsync(_store, _directory);
        Assert.Equal($"+OK 2 {23 + Dotted.Length}\r\n", (await pop.SendAsync("STAT")).Reply);
        Assert.Contains($"2 {Dotted.Length}\r\n", (await pop.SendAsync("LIST")).Reply, StringComparison.Ordinal);
        var uidl = (await pop.SendAsync("UIDL")).Reply.Split("\r\n");
        Assert.Equal(4, uidl.Length - 1); // +OK, two ids, "."
        var retr = (await pop.SendAsync("RETR 2")).Reply;
        Assert.Equal($"+OK {Dotted.Length} octets\r\nSubject: dots\r\n\r\n..leading dot\r\nend\r\n.\r\n", retr);
        Assert.StartsWith("-ERR", (await pop.SendAsync("RETR 3")).Reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deletions_happen_at_quit_and_a_second_session_is_refused_meanwhile()
    {
        var pop = await LoginAsync(_store, _directory);
        var other = new Pop3Harness(_store, _directory);
        await other.SendAsync("USER carol@example.test");
        Assert.Contains("[IN-USE]", (await other.SendAsync("PASS carol password")).Reply, StringComparison.Ordinal);

        Assert.StartsWith("+OK", (await pop.SendAsync("DELE 1")).Reply, StringComparison.Ordinal);
        Assert.StartsWith("-ERR", (await pop.SendAsync("RETR 1")).Reply, StringComparison.Ordinal);
        Assert.Equal(2, (await _store.OpenAsync(_carol, "INBOX")).Messages.Count); // only marked so far
        var (action, reply) = await pop.SendAsync("QUIT");
        Assert.Equal(Pop3Action.Close, action);
        Assert.StartsWith("+OK", reply, StringComparison.Ordinal);
        await pop.Session.Lock!.DisposeAsync();
        Assert.Single((await _store.OpenAsync(_carol, "INBOX")).Messages);
    }

    [Fact]
    public async Task A_storage_outage_at_retr_is_a_temporary_error_and_the_session_goes_on()
    {
        var pop = await LoginAsync(_store, _directory);
        _store.Down = true;
        Assert.StartsWith("-ERR [SYS/TEMP]", (await pop.SendAsync("RETR 1")).Reply, StringComparison.Ordinal);
        _store.Down = false;
        Assert.StartsWith("+OK", (await pop.SendAsync("NOOP")).Reply, StringComparison.Ordinal);
        Assert.StartsWith("+OK 23 octets", (await pop.SendAsync("RETR 1")).Reply, StringComparison.Ordinal);
    }
}
