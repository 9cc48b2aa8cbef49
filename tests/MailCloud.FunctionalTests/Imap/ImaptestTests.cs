using MailCloud.FunctionalTests.Cli;

namespace MailCloud.FunctionalTests.Imap;

/// <summary>
/// Dovecot's imaptest, the independent checker IMAP servers are held to (../shared/tools/imaptest), against the IMAP
/// host on Azurite over implicit TLS: every scripted RFC test for a capability the server advertises passes (imaptest
/// itself skips the others), and a short stress run of concurrent clients on one mailbox reports no error. The
/// longer stress runs and their figures are tests/bench/imaptest-stress.sh.
/// </summary>
public sealed class ImaptestTests(ImapFixture fx) : IClassFixture<ImapFixture>
{
    private static string Tools => Path.GetFullPath(Path.Combine(MailCloudToolTests.RepoRoot(), "..", "shared", "tools", "imaptest"));

    private Dictionary<string, string> Env(string user) => new()
    {
        ["IMAP_HOST"] = "127.0.0.1",
        ["IMAP_PORT"] = fx.ImapsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["IMAP_SSL"] = "any-cert",
        ["IMAP_USER"] = user,
        ["IMAP_PASS"] = ImapFixture.Password,
    };

    [Fact]
    public async Task The_scripted_suite_passes_for_every_advertised_capability()
    {
        Assert.True(File.Exists(Path.Combine(Tools, "run")), $"imaptest is expected at {Tools} (the shared tools beside the repository)");
        // The test files (not their .mbox data, not the folder of known-broken ones).
        var tests = Directory.EnumerateFiles(Path.Combine(Tools, "tests")).Select(Path.GetFileName).Where(n => !n!.EndsWith(".mbox", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var r = await ExternalProcess.RunAsync(Path.Combine(Tools, "run"), ["scripted", .. tests!], env: Env("u1@example.test"), timeout: TimeSpan.FromMinutes(8));
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain(lines, l => !l.StartsWith("PASS ", StringComparison.Ordinal) && !l.StartsWith("SKIP ", StringComparison.Ordinal));
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        // The tests of what MailCloud implements ran and passed, not skipped.
        var passed = lines.Where(l => l.StartsWith("PASS ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToHashSet();
        foreach (var expected in new[] { "append", "atoms", "copy", "esearch", "esearch-condstore", "expunge", "fetch-binary-mime-qp", "fetch-envelope", "listext", "move", "search-addresses", "search-date", "select", "subscribe", "uidvalidity" })
            Assert.Contains(expected, passed);
        Assert.True(passed.Count >= 40, $"{passed.Count} passed: {r.Stdout}");
    }

    [Fact]
    public async Task Concurrent_clients_on_one_mailbox_see_a_consistent_state()
    {
        var r = await ExternalProcess.RunAsync(Path.Combine(Tools, "run"), ["stress", "10", "15"], env: Env("u2@example.test"), timeout: TimeSpan.FromMinutes(3));
        Assert.Contains("stress: 10 clients, 15 s, 0 error lines", r.Stdout, StringComparison.Ordinal);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
    }
}
