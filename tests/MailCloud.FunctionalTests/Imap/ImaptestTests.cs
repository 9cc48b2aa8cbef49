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

    /// <summary>
    /// Delivered mail is served as the verdict's header lines followed by the blob: imaptest's stress clients fetch
    /// those messages (sizes, BODY[], BODYSTRUCTURE, sections) from many sessions and find nothing inconsistent.
    /// </summary>
    [Fact]
    public async Task Delivered_messages_with_verdict_headers_pass_the_stress_checks()
    {
        var script = """
            import smtplib, os
            s = smtplib.SMTP("127.0.0.1", int(os.environ["MX"]), timeout=30)
            for i in range(20):
                if i % 2:
                    body = ("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n"
                            "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--b--\r\n") % i
                else:
                    body = "\r\n" + ("line %d of a plain message\r\n" % i) * (i + 1)
                msg = "From: x@outside.test\r\nTo: u3@example.test\r\nSubject: delivered %d\r\nDate: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <d%d@outside.test>\r\n%s" % (i, i, body)
                s.sendmail("x@outside.test", ["u3@example.test"], msg.encode())
            s.quit()
            """;
        var sent = await ExternalProcess.PythonAsync(script, fx.Env);
        Assert.True(sent.ExitCode == 0, sent.Stderr);
        await fx.WaitForAsync("u3@example.test", "delivered 19");
        Assert.All(await fx.MessagesAsync("u3@example.test"), row => Assert.NotNull(row.GetBinary("Prefix")));
        var r = await ExternalProcess.RunAsync(Path.Combine(Tools, "run"), ["stress", "5", "10"], env: Env("u3@example.test"), timeout: TimeSpan.FromMinutes(2));
        Assert.Contains("stress: 5 clients, 10 s, 0 error lines", r.Stdout, StringComparison.Ordinal);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
    }

    [Fact]
    public async Task Concurrent_clients_on_one_mailbox_see_a_consistent_state()
    {
        var r = await ExternalProcess.RunAsync(Path.Combine(Tools, "run"), ["stress", "10", "15"], env: Env("u2@example.test"), timeout: TimeSpan.FromMinutes(3));
        Assert.Contains("stress: 10 clients, 15 s, 0 error lines", r.Stdout, StringComparison.Ordinal);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
    }
}
