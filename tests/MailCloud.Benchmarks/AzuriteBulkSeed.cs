using System.Diagnostics;
using System.Text.Json;
using MailCloud.LocalDev;

namespace MailCloud.Benchmarks;

/// <summary>
/// Copies rows the benchmark wrote through the Table API into Azurite's in-memory table, by way of
/// tests/bench/lib/azurite-seed.js preloaded into Azurite. Only for growing one partition past what Azurite's own
/// insert path can seed here (each insert scans the partition: 10,000 → 100,000 rows did not finish in 35 minutes).
/// The rows measured afterwards are read and written through the real API like any other.
/// </summary>
internal static class AzuriteBulkSeed
{
    private const string FileVariable = "MAILCLOUD_BENCH_SEED_FILE";

    /// <summary>Makes Azurite processes started from now on load the seeder; returns false when it isn't in the repository.</summary>
    public static bool Enable()
    {
        var root = Path.Combine(Path.GetDirectoryName(AzuriteProcess.FindAzuriteScript())!, "..", "..", "..", "..");
        var script = Path.GetFullPath(Path.Combine(root, "tests", "bench", "lib", "azurite-seed.js"));
        if (!File.Exists(script))
            return false;
        Environment.SetEnvironmentVariable("NODE_OPTIONS", $"--require {script}");
        Environment.SetEnvironmentVariable(FileVariable, Path.Combine(Path.GetTempPath(), $"mailcloud-bench-seed-{Guid.NewGuid():N}.json"));
        return true;
    }

    public static bool Enabled => Environment.GetEnvironmentVariable(FileVariable) is not null;

    public sealed record Row(string Template, string RowKey, IReadOnlyDictionary<string, object> Set);

    public static async Task CopyAsync(AzuriteProcess azurite, string table, IReadOnlyList<Row> rows)
    {
        var file = Environment.GetEnvironmentVariable(FileVariable) ?? throw new InvalidOperationException("bulk seeding is not enabled");
        File.Delete(file + ".done");
        File.Delete(file + ".error");
        await using (var stream = File.Create(file))
            await JsonSerializer.SerializeAsync(stream, new { table, rows = rows.Select(r => new { template = r.Template, rowKey = r.RowKey, set = r.Set }) });
        using (var kill = Process.Start("kill", ["-USR2", azurite.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill!.WaitForExitAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (!File.Exists(file + ".done"))
        {
            if (File.Exists(file + ".error"))
                throw new InvalidOperationException("Azurite's seeder failed: " + await File.ReadAllTextAsync(file + ".error"));
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("Azurite's seeder did not finish in 10 minutes");
            await Task.Delay(200);
        }
        File.Delete(file);
        File.Delete(file + ".done");
    }
}
