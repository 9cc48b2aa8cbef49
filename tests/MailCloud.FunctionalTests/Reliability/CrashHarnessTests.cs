using MailCloud.FunctionalTests.Cli;

namespace MailCloud.FunctionalTests.Reliability;

/// <summary>
/// The test-sized run of tests/bench/crash-harness.sh (issue #18): the front end's container entry point and
/// `./mailcloud functions` as separate processes on Azurite on disk, 80 messages through MX and submission to local
/// users, an alias, a list, a forwarder and an aiosmtpd peer found by a dnsmasq MX, while both processes are
/// SIGKILLed every 1–3 s. The harness itself checks the outcome (it exits 1 on any loss, local duplicate,
/// corruption, missing bounce or poisoned item); this test runs it and reads its verdict and counts.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class CrashHarnessTests
{
    [Fact]
    public async Task Nothing_accepted_is_lost_or_delivered_twice_while_the_processes_are_killed()
    {
        var repo = MailCloudToolTests.RepoRoot();
        var work = Path.Combine(Path.GetTempPath(), "mailcloud-harness-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var r = await ExternalProcess.RunAsync(Path.Combine(repo, "tests", "bench", "crash-harness.sh"), ["80", "--kill-interval", "1,3", "--seed", "5"],
                env: new Dictionary<string, string> { ["HARNESS_WORK"] = work }, timeout: TimeSpan.FromMinutes(12));
            Assert.True(r.ExitCode == 0, $"harness failed ({r.ExitCode}):\n{r.Stdout}\n{r.Stderr}");
            Assert.Contains("RESULT: PASS", r.Stdout, StringComparison.Ordinal);
            Assert.Contains("| accepted with 250 | 80 |", r.Stdout, StringComparison.Ordinal);
            Assert.Contains("|   lost | 0 |", r.Stdout, StringComparison.Ordinal);
            Assert.Matches(@"faults: SIGKILL front end / functions / both / Azurite restarts \| \d+ / \d+ / \d+ / \d+ \|", r.Stdout);
            Assert.DoesNotMatch(@"faults: SIGKILL front end / functions / both / Azurite restarts \| 0 / 0 / 0 / 0 \|", r.Stdout); // faults did happen
        }
        finally
        {
            if (Directory.Exists(work))
                Directory.Delete(work, recursive: true);
        }
    }
}
