using System.Diagnostics;
using System.Text;
using MailCloud.Core;
using MailCloud.LocalDev;

namespace MailCloud.FunctionalTests.Cli;

/// <summary>Runs ./mailcloud as a user would: a process, its exit code and its output.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class MailCloudToolTests(AzuriteFixture azurite)
{
    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MailCloud.sln")) && File.Exists(Path.Combine(dir.FullName, "mailcloud")))
                return dir.FullName;
        }
        throw new InvalidOperationException("repository root not found");
    }

    internal sealed record Result(int ExitCode, string Stdout, string Stderr);

    internal static async Task<Result> RunAsync(IDictionary<string, string> env, string? stdin, params string[] args)
    {
        // The first call builds the tool, hence the generous limit.
        var r = await ExternalProcess.RunAsync(Path.Combine(RepoRoot(), "mailcloud"), args, stdin is null ? null : stdin + "\n", env, TimeSpan.FromMinutes(4));
        return new Result(r.ExitCode, r.Stdout, StripBuildNoise(r.Stderr));
    }

    private static string StripBuildNoise(string stderr) =>
        string.Join('\n', stderr.Split('\n').Where(l => !l.StartsWith("mailcloud: building", StringComparison.Ordinal) && l.Length > 0));

    private Dictionary<string, string> Env() => new() { ["MAILCLOUD_STORAGE"] = azurite.ConnectionString };

    [Fact]
    public async Task Cost_prints_each_line_item_and_their_total()
    {
        var r = await RunAsync(new Dictionary<string, string>(), null, "cost");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("10 users, 1,000 messages in and 200 out a day", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("prices: ", r.Stdout, StringComparison.Ordinal);
        var items = r.Stdout.Split('\n').Where(l => l.Contains('$', StringComparison.Ordinal)).ToList();
        double Amount(string line) => double.Parse(line[(line.IndexOf('$', StringComparison.Ordinal) + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        var total = items.Single(l => l.TrimStart().StartsWith("total", StringComparison.Ordinal));
        Assert.Equal(items.Where(l => l != total).Sum(Amount), Amount(total), 1);
        foreach (var item in new[] { "Blob storage", "Queue operations", "Table operations", "Functions (Flex Consumption)", "Front end vCPU", "Container Registry" })
            Assert.Contains(items, l => l.Contains(item, StringComparison.Ordinal));

        // A bigger domain costs more; without the registry that line goes.
        var big = await RunAsync(new Dictionary<string, string>(), null, "cost", "--users", "100", "--in-per-day", "20000", "--stored-gb", "100", "--no-registry");
        Assert.True(big.ExitCode == 0, big.Stderr);
        Assert.DoesNotContain("Container Registry", big.Stdout, StringComparison.Ordinal);
        Assert.True(Amount(big.Stdout.Split('\n').Single(l => l.TrimStart().StartsWith("total", StringComparison.Ordinal))) > Amount(total) - 5.01);

        var bad = await RunAsync(new Dictionary<string, string>(), null, "cost", "--active-share", "2");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("active-share", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Administration_commands_work_and_fail_clearly()
    {
        var env = Env();
        var r = await RunAsync(env, null, "domain", "add", "cli.example");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("added domain cli.example", r.Stdout, StringComparison.Ordinal);

        r = await RunAsync(env, null, "user", "add", "alice@cli.example", "--password", "correct horse", "--quota", "500M");
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = await RunAsync(env, "battery staple", "user", "add", "bob@cli.example", "--password-stdin");
        Assert.True(r.ExitCode == 0, r.Stderr);

        r = await RunAsync(env, null, "user", "list");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("alice@cli.example\tquota 500 MiB", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("bob@cli.example\tquota unlimited", r.Stdout, StringComparison.Ordinal);

        r = await RunAsync(env, null, "user", "add", "alice@cli.example", "--password", "another one");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("mailcloud: error: user alice@cli.example already exists", r.Stderr.Trim());

        r = await RunAsync(env, null, "user", "add", "carol@elsewhere.example", "--password", "another one");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("domain elsewhere.example is not hosted here", r.Stderr, StringComparison.Ordinal);

        r = await RunAsync(env, null, "user", "add", "not-an-address", "--password", "another one");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("mailcloud: error: invalid address", r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Trim().Split('\n'));

        r = await RunAsync(env, null, "user", "remove", "nobody@cli.example");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no user nobody@cli.example", r.Stderr, StringComparison.Ordinal);

        r = await RunAsync(env, null, "user", "passwd", "alice@cli.example", "--password", "new password");
        Assert.Equal(0, r.ExitCode);
        r = await RunAsync(env, null, "user", "quota", "alice@cli.example", "2G");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("2 GiB", r.Stdout, StringComparison.Ordinal);

        // Disabled: the password no longer signs in; the admin flag shows in the list.
        r = await RunAsync(env, null, "user", "disable", "alice@cli.example");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("disabled alice@cli.example", r.Stdout.Trim());
        Assert.Null(await MailCloud.Data.StorageProvisioner.Directory(new MailCloud.Storage.StorageAccount(azurite.Connection)).VerifyPasswordAsync("alice@cli.example", "new password"));
        r = await RunAsync(env, null, "user", "admin", "alice@cli.example", "domain");
        Assert.Equal("alice@cli.example administers cli.example", r.Stdout.Trim());
        r = await RunAsync(env, null, "user", "admin", "alice@cli.example", "root");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("Argument 'root' not recognized", r.Stderr, StringComparison.Ordinal);
        r = await RunAsync(env, null, "user", "list", "cli.example");
        Assert.Contains("alice@cli.example\tquota 2 GiB\tdisabled\tadmin domain", r.Stdout.Split('\n'));
        r = await RunAsync(env, null, "user", "enable", "alice@cli.example");
        Assert.Equal(0, r.ExitCode);
        Assert.NotNull(await MailCloud.Data.StorageProvisioner.Directory(new MailCloud.Storage.StorageAccount(azurite.Connection)).VerifyPasswordAsync("alice@cli.example", "new password"));

        r = await RunAsync(env, null, "alias", "add", "postmaster@cli.example", "alice@cli.example", "bob@cli.example");
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = await RunAsync(env, null, "alias", "list", "cli.example");
        Assert.Contains("postmaster@cli.example\t-> alice@cli.example, bob@cli.example", r.Stdout, StringComparison.Ordinal);
        r = await RunAsync(env, null, "alias", "remove", "postmaster@cli.example");
        Assert.Equal(0, r.ExitCode);

        r = await RunAsync(env, null, "dkim", "show", "cli.example");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.StartsWith("mc1._domainkey.cli.example. IN TXT ( \"v=DKIM1; k=rsa; p=MII", r.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\nmc1ed\._domainkey\.cli\.example\. IN TXT \( ""v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="" \)", r.Stdout);

        r = await RunAsync(env, null, "domain", "list");
        Assert.Contains("cli.example", r.Stdout.Split('\n'));
        r = await RunAsync(env, null, "domain", "remove", "cli.example");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--force", r.Stderr, StringComparison.Ordinal);

        r = await RunAsync(env, null, "user", "frobnicate");
        Assert.NotEqual(0, r.ExitCode);
    }

    [Fact]
    public async Task Spam_thresholds_and_the_quarantine_are_managed_from_the_command_line()
    {
        var env = Env();
        Assert.Equal(0, (await RunAsync(env, null, "domain", "add", "spam.example")).ExitCode);
        var r = await RunAsync(env, null, "domain", "spam", "spam.example");
        Assert.Contains("spam.example: the engine's own actions", r.Stdout, StringComparison.Ordinal);
        r = await RunAsync(env, null, "domain", "spam", "spam.example", "--junk", "4.5", "--quarantine", "12");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("spam.example: junk at 4.5, quarantine at 12.0", r.Stdout, StringComparison.Ordinal);
        r = await RunAsync(env, null, "domain", "spam", "spam.example", "--junk", "6", "--quarantine", "2");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("above the junk score", r.Stderr, StringComparison.Ordinal);
        r = await RunAsync(env, null, "domain", "spam", "spam.example", "--clear");
        Assert.Contains("removed", r.Stdout, StringComparison.Ordinal);

        // Two held messages, as the inbound stage leaves them.
        var account = azurite.NewAccount();
        await MailCloud.Data.StorageProvisioner.EnsureCreatedAsync(account);
        var quarantine = new MailCloud.Data.QuarantineStore(account);
        var content = new MailCloud.Data.BlobMessageContent(account);
        foreach (var (id, reason) in new[] { ("20261201080000000cli0000001", "virus"), ("20261201080000000cli0000002", "spam") })
        {
            var blob = MailCloud.Core.MessageIds.BlobPath(id, DateTimeOffset.UtcNow);
            await content.WriteAsync(blob, Encoding.ASCII.GetBytes("Subject: held\r\n\r\nx\r\n"));
            await quarantine.HoldAsync(new MailCloud.Data.QuarantineEntry
            {
                Id = id, Blob = blob, Size = 20, Reason = reason, Detail = reason == "virus" ? "Test.Virus" : "score 16.0 (rspamd, reject)", Subject = "held " + reason,
                Envelope = new MailCloud.Core.Envelope
                {
                    Sender = "bad@outside.example", Recipients = [new MailCloud.Core.EnvelopeRecipient("alice@spam.example")], ClientAddress = "203.0.113.1",
                    Helo = "outside.example", Listener = "mx", ReceivedAt = DateTimeOffset.UtcNow,
                },
                Quarantined = DateTimeOffset.UtcNow,
            });
        }
        r = await RunAsync(env, null, "quarantine", "list");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("20261201080000000cli0000001", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("virus  Test.Virus  from <bad@outside.example> to alice@spam.example  \"held virus\"", r.Stdout, StringComparison.Ordinal);
        r = await RunAsync(env, null, "quarantine", "show", "20261201080000000cli0000002");
        Assert.Contains("reason:     spam (score 16.0 (rspamd, reject))", r.Stdout, StringComparison.Ordinal);
        r = await RunAsync(env, null, "quarantine", "delete", "20261201080000000cli0000001");
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = await RunAsync(env, null, "quarantine", "release", "20261201080000000cli0000002");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("queued for delivery", r.Stdout, StringComparison.Ordinal);
        r = await RunAsync(env, null, "quarantine", "release", "20261201080000000cli0000002");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no quarantine entry", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("cli000000", (await RunAsync(env, null, "quarantine", "list")).Stdout, StringComparison.Ordinal);
        // The release is an inbound work item marked released, for the held recipient only.
        var queued = (await account.Queues.GetQueueClient(MailCloud.Core.StorageNames.InboundQueue).PeekMessagesAsync(32)).Value
            .Select(m => m.Body.ToString()).Where(t => t.Contains("cli0000002", StringComparison.Ordinal)).ToList();
        Assert.Single(queued);
        Assert.Contains("\"released\":true", queued[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_storage_says_how_to_start_it()
    {
        int port = AzuriteProcess.FreePort();
        var env = new Dictionary<string, string>
        {
            ["MAILCLOUD_STORAGE"] = $"AccountName=devstoreaccount1;AccountKey={MailCloud.Storage.StorageConnection.DevelopmentAccountKey};" +
                                    $"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1",
        };
        var r = await RunAsync(env, null, "user", "list");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("cannot reach storage", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("./mailcloud up", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(MailCloud.Storage.StorageConnection.DevelopmentAccountKey, r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_prints_endpoints_and_stops_cleanly_on_sigint()
    {
        var data = Path.Combine(Path.GetTempPath(), "mailcloud-up-" + Guid.NewGuid().ToString("N"));
        int basePort = AzuriteProcess.FreePorts(3); // from the same reserved range as every fixture's ports
        // Make sure the tool is built before timing anything.
        Assert.Equal(0, (await RunAsync(Env(), null, "--help")).ExitCode);

        var psi = new ProcessStartInfo(Path.Combine(RepoRoot(), "mailcloud"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "up", "--data", data, "--storage-port", basePort.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        psi.Environment.Remove("MAILCLOUD_STORAGE");
        // Every port free, so the test does not collide with a developer's running ./mailcloud up.
        foreach (var listener in MailCloud.Core.MailCloudSettings.Listeners)
            psi.Environment[listener.EnvironmentVariable] = AzuriteProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["MAILCLOUD_SMTP_PORT"] = "12525";
        // The admin API's token, made by the tool itself; only its hash goes into the environment.
        var tokenRun = await RunAsync(Env(), null, "admin-token");
        Assert.Equal(0, tokenRun.ExitCode);
        var token = System.Text.RegularExpressions.Regex.Match(tokenRun.Stdout, @"token \(keep it; it is not stored anywhere\): (\S+)").Groups[1].Value;
        var hash = System.Text.RegularExpressions.Regex.Match(tokenRun.Stdout, @"export MAILCLOUD_ADMIN_TOKEN_SHA256=([0-9a-f]{64})").Groups[1].Value;
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(token))).ToLowerInvariant(), hash);
        psi.Environment["MAILCLOUD_ADMIN_TOKEN_SHA256"] = hash;
        using var p = Process.Start(psi)!;
        var output = new StringBuilder();
        var ready = new TaskCompletionSource();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (output)
                output.AppendLine(e.Data);
            if (e.Data.Contains("MailCloud is up", StringComparison.Ordinal))
                ready.TrySetResult();
        };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            if (await Task.WhenAny(ready.Task, Task.Delay(TimeSpan.FromSeconds(90))) != ready.Task)
            {
                lock (output)
                    Assert.Fail($"./mailcloud up was not up within 90 s (exited: {p.HasExited}); it printed:\n{output}");
            }
            string text;
            lock (output)
                text = output.ToString();
            Assert.Contains($"blob http://127.0.0.1:{basePort}/devstoreaccount1", text, StringComparison.Ordinal);
            Assert.Contains("127.0.0.1:12525", text, StringComparison.Ordinal); // configurable port honoured
            Assert.Contains("inbound (queue inbound)", text, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(data, "tls", "server.pfx")));

            // The storage it made is usable by the admin commands.
            var env = new Dictionary<string, string>
            {
                ["MAILCLOUD_STORAGE"] = $"AccountName=devstoreaccount1;AccountKey={MailCloud.Storage.StorageConnection.DevelopmentAccountKey};" +
                                        $"BlobEndpoint=http://127.0.0.1:{basePort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{basePort + 1}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{basePort + 2}/devstoreaccount1",
            };
            Assert.Equal(0, (await RunAsync(env, null, "domain", "add", "up.example")).ExitCode);

            // Every front end listens, the web one included: health and client autoconfiguration over HTTP (curl).
            Assert.DoesNotContain("not built yet", text, StringComparison.Ordinal);
            var web = $"http://127.0.0.1:{psi.Environment["MAILCLOUD_WEB_PORT"]}";
            var health = await ExternalProcess.RunAsync("curl", ["-sS", "-f", $"{web}/healthz"]);
            Assert.True(health.ExitCode == 0, health.Stderr);
            Assert.Contains("\"ok\"", health.Stdout, StringComparison.Ordinal);
            var config = await ExternalProcess.RunAsync("curl", ["-sS", "-f", $"{web}/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=ann@up.example"]);
            Assert.True(config.ExitCode == 0, config.Stderr);
            var servers = System.Xml.Linq.XDocument.Parse(config.Stdout).Descendants("incomingServer").ToList();
            Assert.Contains(servers, x => (string?)x.Attribute("type") == "imap" && x.Element("port")!.Value == psi.Environment["MAILCLOUD_IMAPS_PORT"] && x.Element("socketType")!.Value == "SSL");
            Assert.Equal("up.example", System.Xml.Linq.XDocument.Parse(config.Stdout).Descendants("domain").Single().Value);
            var discover = await ExternalProcess.RunAsync("curl", ["-sS", "-f", "-H", "Content-Type: text/xml", "--data-binary",
                "<Autodiscover><Request><EMailAddress>ann@up.example</EMailAddress></Request></Autodiscover>", $"{web}/autodiscover/autodiscover.xml"]);
            Assert.True(discover.ExitCode == 0, discover.Stderr);
            Assert.Contains("<LoginName>ann@up.example</LoginName>", discover.Stdout, StringComparison.Ordinal);

            // The admin API: refused without the token, and a user it creates can log in over IMAP at once.
            Task<ExternalProcess.Result> Api(string method, string path, string? json = null, string? bearer = null) =>
                ExternalProcess.RunAsync("curl", ["-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method, "-H", "Content-Type: application/json",
                    .. bearer is null ? Array.Empty<string>() : ["-H", $"Authorization: Bearer {bearer}"], .. json is null ? Array.Empty<string>() : ["--data-binary", json], $"{web}{path}"]);
            static string Status(ExternalProcess.Result r) => r.Stdout.TrimEnd().Split('\n')[^1];
            Assert.Equal("401", Status(await Api("GET", "/api/domains")));
            Assert.Equal("401", Status(await Api("GET", "/api/domains", bearer: "not-the-token")));
            var domains = await Api("GET", "/api/domains", bearer: token);
            Assert.Equal("200", Status(domains));
            Assert.Contains("\"up.example\"", domains.Stdout, StringComparison.Ordinal);
            Assert.Equal("201", Status(await Api("POST", "/api/users", """{"address":"api@up.example","password":"from the api","quotaBytes":1000000}""", token)));
            Assert.Equal("409", Status(await Api("POST", "/api/users", """{"address":"api@up.example","password":"another long password"}""", token)));
            Assert.Equal("400", Status(await Api("POST", "/api/users", """{"address":"not an address","password":"x"}""", token)));
            // Sign-in disabled and the admin flag, as the admin UI sets them.
            Assert.Equal("204", Status(await Api("PUT", "/api/users/api@up.example/disabled", """{"disabled":true}""", token)));
            Assert.Equal("204", Status(await Api("PUT", "/api/users/api@up.example/admin", """{"role":"domain"}""", token)));
            Assert.Equal("400", Status(await Api("PUT", "/api/users/api@up.example/admin", """{"role":"2"}""", token)));
            Assert.Equal("404", Status(await Api("PUT", "/api/users/nobody@up.example/disabled", """{"disabled":true}""", token)));
            Assert.Contains("\"address\":\"api@up.example\",\"quotaBytes\":1000000", (await Api("GET", "/api/domains/up.example/users", bearer: token)).Stdout, StringComparison.Ordinal);
            Assert.Contains("\"disabled\":true,\"admin\":\"domain\"", (await Api("GET", "/api/domains/up.example/users", bearer: token)).Stdout, StringComparison.Ordinal);
            Assert.Equal("204", Status(await Api("PUT", "/api/users/api@up.example/disabled", """{"disabled":false}""", token)));
            Assert.Equal("201", Status(await Api("POST", "/api/lists", """{"address":"team@up.example","members":["api@up.example","friend@else.example"]}""", token)));
            Assert.Contains("\"friend@else.example\"", (await Api("GET", "/api/domains/up.example/lists", bearer: token)).Stdout, StringComparison.Ordinal);
            Assert.Equal("204", Status(await Api("PUT", "/api/domains/up.example/catchall", """{"target":"api@up.example"}""", token)));
            Assert.Contains("\"catchAll\":\"api@up.example\"", (await Api("GET", "/api/domains", bearer: token)).Stdout, StringComparison.Ordinal);
            Assert.Equal("204", Status(await Api("PUT", "/api/domains/up.example/spam", """{"junkScore":4,"quarantineScore":12}""", token)));
            Assert.Contains("\"spam\":{\"junkScore\":4,\"quarantineScore\":12}", (await Api("GET", "/api/domains", bearer: token)).Stdout, StringComparison.Ordinal);
            Assert.Equal("400", Status(await Api("PUT", "/api/domains/up.example/spam", """{"junkScore":4,"quarantineScore":3}""", token)));
            Assert.Equal("404", Status(await Api("PUT", "/api/domains/nowhere.example/spam", """{"junkScore":4}""", token)));
            var held = await Api("GET", "/api/quarantine", bearer: token);
            Assert.Equal("200", Status(held));
            Assert.StartsWith("[", held.Stdout, StringComparison.Ordinal);
            Assert.Equal("404", Status(await Api("POST", "/api/quarantine/nothing-held/release", bearer: token)));
            Assert.Equal("404", Status(await Api("DELETE", "/api/quarantine/nothing-held", bearer: token)));
            Assert.Equal("404", Status(await Api("DELETE", "/api/aliases/nobody@up.example", bearer: token)));
            // Queues: their lengths, a queue's front, a replay (nothing poisoned here) and the refusals.
            var queues = await Api("GET", "/api/queues", bearer: token);
            Assert.Equal("200", Status(queues));
            Assert.Contains("{\"queue\":\"inbound-poison\",\"count\":0", queues.Stdout, StringComparison.Ordinal);
            Assert.Equal("200", Status(await Api("GET", "/api/queues/outbound", bearer: token)));
            var replayed = await Api("POST", "/api/queues/inbound-poison/replay", bearer: token);
            Assert.Equal("200", Status(replayed));
            Assert.Contains("{\"replayed\":0}", replayed.Stdout, StringComparison.Ordinal);
            Assert.Equal("404", Status(await Api("POST", "/api/queues/inbound/replay", bearer: token))); // not a poison queue
            Assert.Equal("404", Status(await Api("GET", "/api/queues/nosuchqueue", bearer: token)));
            Assert.Equal("404", Status(await Api("DELETE", "/api/queues/inbound-poison/items/nothing", bearer: token)));
            var users = await Api("GET", "/api/domains/up.example/users", bearer: token);
            Assert.Contains("\"api@up.example\"", users.Stdout, StringComparison.Ordinal);
            var imapLogin = await ExternalProcess.PythonAsync($$"""
import imaplib, ssl
m = imaplib.IMAP4("127.0.0.1", {{psi.Environment["MAILCLOUD_IMAP_PORT"]}}, timeout=20)
m.starttls(ssl_context=ssl._create_unverified_context())
print(m.login("api@up.example", "from the api")[0])
""");
            Assert.True(imapLogin.ExitCode == 0, imapLogin.Stderr);
            Assert.Equal("OK", imapLogin.Stdout.Trim());

            using (var kill = Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await kill!.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await p.WaitForExitAsync(cts.Token);
            Assert.Equal(0, p.ExitCode);
            lock (output)
                Assert.Contains("stopped", output.ToString(), StringComparison.Ordinal);
            // Azurite went with it: its ports are free again.
            Assert.True(PortFree(basePort) && PortFree(basePort + 2));
        }
        finally
        {
            if (!p.HasExited)
                p.Kill(entireProcessTree: true);
            try { System.IO.Directory.Delete(data, true); } catch (IOException) { }
        }
    }

    private static bool PortFree(int port)
    {
        try
        {
            using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
