using System.Reflection;
using System.Text.Json;
using MailCloud.FunctionalTests.Cli;

namespace MailCloud.FunctionalTests.Deploy;

/// <summary>
/// The deployment compiles: the Bicep CLI pinned in the test project (Azure.Bicep.CommandLine.linux-x64 from NuGet,
/// the compiler inside the package) builds main.bicep and lints every file with no error and no warning.
/// </summary>
public sealed class BicepTests
{
    private static string Bicep()
    {
        var folder = typeof(BicepTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BicepCli").Value!;
        var path = Path.Combine(folder, "tools", "bicep");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute);
        return path;
    }

    private static string BicepFolder => Path.Combine(MailCloudToolTests.RepoRoot(), "bicep");

    private static async Task<ExternalProcess.Result> RunAsync(params string[] args) =>
        await ExternalProcess.RunAsync(Bicep(), args, env: new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" }, timeout: TimeSpan.FromMinutes(3));

    [Fact]
    public async Task Main_bicep_builds_and_every_file_lints_clean()
    {
        var build = await RunAsync("build", Path.Combine(BicepFolder, "main.bicep"), "--stdout");
        Assert.True(build.ExitCode == 0, build.Stderr);
        Assert.DoesNotContain("Warning", build.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Error", build.Stderr, StringComparison.OrdinalIgnoreCase);

        foreach (var file in Directory.EnumerateFiles(BicepFolder, "*.bicep", SearchOption.AllDirectories))
        {
            var lint = await RunAsync("lint", file);
            Assert.True(lint.ExitCode == 0, $"{file}: {lint.Stdout}{lint.Stderr}");
            Assert.True(lint.Stdout.Trim().Length == 0 && lint.Stderr.Trim().Length == 0, $"{file}: {lint.Stdout}{lint.Stderr}");
        }

        // What the compiled template deploys: mail ports as TCP mappings, a delegated subnet, the isolated runtime.
        using var template = JsonDocument.Parse(build.Stdout);
        var text = build.Stdout;
        foreach (var port in new[] { 25, 587, 465, 143, 993, 110, 995 })
            Assert.Contains($"\"exposedPort\": {port}", await File.ReadAllTextAsync(Path.Combine(BicepFolder, "frontend-env.json")), StringComparison.Ordinal);
        Assert.Contains("Microsoft.App/environments", text, StringComparison.Ordinal);
        Assert.Contains("additionalPortMappings", text, StringComparison.Ordinal);
        Assert.Contains("dotnet-isolated", text, StringComparison.Ordinal);
        Assert.Contains("\"workloadProfileType\": \"Consumption\"", text, StringComparison.Ordinal);
        Assert.Contains("\"allowSharedKeyAccess\": false", text, StringComparison.Ordinal);
        Assert.True(template.RootElement.GetProperty("outputs").TryGetProperty("outboundIps", out _));
        // The optional content engines: an internal environment, reached by the functions through VNet integration.
        foreach (var piece in new[] { "\"deployRspamd\"", "\"deployClamd\"", "MAILCLOUD_RSPAMD_URL", "MAILCLOUD_CLAMD", "MAILCLOUD_SPAM_LEARNING", "virtualNetworkSubnetId", "\"internal\": true", "Microsoft.Network/privateDnsZones" })
            Assert.Contains(piece, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_front_end_image_copies_every_project_it_builds_from()
    {
        // Images cannot be built here, so check the Dockerfile against the project graph instead.
        var repo = MailCloudToolTests.RepoRoot();
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(repo, "protocol-hosts", "MailCloud.FrontEnd", "Dockerfile"));
        var pending = new Stack<string>([Path.Combine(repo, "protocol-hosts", "MailCloud.FrontEnd", "MailCloud.FrontEnd.csproj")]);
        var seen = new HashSet<string>();
        while (pending.Count > 0)
        {
            var project = Path.GetFullPath(pending.Pop());
            if (!seen.Add(project))
                continue;
            var relative = Path.GetRelativePath(repo, project).Replace('\\', '/');
            Assert.Contains($"COPY {relative} ", dockerfile, StringComparison.Ordinal);
            foreach (var reference in System.Xml.Linq.XDocument.Load(project).Descendants("ProjectReference"))
                pending.Push(Path.Combine(Path.GetDirectoryName(project)!, reference.Attribute("Include")!.Value.Replace('\\', '/')));
        }
        Assert.Equal(15, seen.Count); // the front end and the 14 projects under it (webmail, admin UI and telemetry among them)
    }
}
