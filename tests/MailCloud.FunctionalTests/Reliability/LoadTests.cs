using MailCloud.FunctionalTests.Cli;

namespace MailCloud.FunctionalTests.Reliability;

/// <summary>
/// The test-sized run of tests/bench/load.sh (issue #18): `./mailcloud up`, then 100 concurrent SMTP sessions,
/// 300 IMAP connections in IDLE (each told of new mail), 30 POP3 sessions on 30 maildrops and 20 connections that
/// dribble a byte every 10 s — while a probe client must keep being answered within 1 s. load.py checks the counts
/// and the probe and exits 1 on a shortfall; this test runs it and reads the table.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class LoadTests
{
    [Fact]
    public async Task Concurrent_sessions_idle_connections_and_slow_clients_leave_the_server_answering()
    {
        var r = await ExternalProcess.RunAsync(Path.Combine(MailCloudToolTests.RepoRoot(), "tests", "bench", "load.sh"),
            ["--smtp", "100", "--idle", "300", "--pop3", "30", "--slow", "20"], timeout: TimeSpan.FromMinutes(8));
        Assert.True(r.ExitCode == 0, $"load run failed ({r.ExitCode}):\n{r.Stdout}\n{r.Stderr}");
        Assert.Contains("| SMTP MX, 100 concurrent sessions | 100 greeted at once, 100 accepted |", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("300 in IDLE at once", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("EXISTS reached 300 ", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("| POP3, 30 concurrent sessions | 30 logged in at once", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("21/21 others greeted", r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("FAILED:", r.Stdout, StringComparison.Ordinal);
    }
}
