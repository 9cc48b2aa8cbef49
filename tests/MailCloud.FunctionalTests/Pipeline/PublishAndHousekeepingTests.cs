using System.Diagnostics;
using System.Net.Http.Json;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FunctionalTests.Cli;
using MailCloud.LocalDev;
using MailCloud.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using MailCloud.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailCloud.FunctionalTests.Pipeline;

[Collection(AzuriteCollection.Name)]
public sealed class PublishAndHousekeepingTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Published_layout_has_host_json_every_function_and_a_working_handler()
    {
        var repo = MailCloudToolTests.RepoRoot();
        var output = Path.Combine(Path.GetTempPath(), "mailcloud-publish-" + Guid.NewGuid().ToString("N"));
        try
        {
            var r = await ExternalProcess.RunAsync(Path.Combine(repo, "functions", "publish.sh"), [output], timeout: TimeSpan.FromMinutes(5));
            Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(repo, "host.json")), await File.ReadAllTextAsync(Path.Combine(output, "host.json")));
            foreach (var fn in new[] { "inbound", "index", "deliver", "housekeeping" })
                Assert.True(File.Exists(Path.Combine(output, fn, "function.json")), fn);
            var handler = Path.Combine(output, "handler", "MailCloud.Functions");
            Assert.True(File.Exists(handler));
            if (!OperatingSystem.IsWindows())
                Assert.True(File.GetUnixFileMode(handler).HasFlag(UnixFileMode.UserExecute));

            // The published handler runs as the Functions host would start it: port from FUNCTIONS_CUSTOMHANDLER_PORT.
            await StorageProvisioner.EnsureCreatedAsync(azurite.NewAccount());
            int port = AzuriteProcess.FreePort();
            var psi = new ProcessStartInfo(handler) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            psi.Environment["MAILCLOUD_STORAGE"] = azurite.ConnectionString;
            using var process = Process.Start(psi)!;
            try
            {
                using var http = new HttpClient();
                HttpResponseMessage? response = null;
                for (int i = 0; i < 100 && response is null; i++)
                {
                    try
                    {
                        response = await http.PostAsJsonAsync($"http://127.0.0.1:{port}/housekeeping", new { Data = new { timer = new { IsPastDue = false } }, Metadata = new { } });
                    }
                    catch (HttpRequestException)
                    {
                        await Task.Delay(200);
                    }
                }
                Assert.NotNull(response);
                Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
                var body = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
                Assert.StartsWith("housekeeping:", body.GetProperty("Logs")[0].GetString(), StringComparison.Ordinal);
                Assert.Equal(System.Text.Json.JsonValueKind.Object, body.GetProperty("Outputs").ValueKind);

                // A malformed queue payload is a failed invocation (500), so the host would retry it.
                var bad = await http.PostAsJsonAsync($"http://127.0.0.1:{port}/index", new { Data = new { item = "not json" }, Metadata = new { } });
                Assert.Equal(500, (int)bad.StatusCode);
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            try { Directory.Delete(output, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Housekeeping_deletes_only_unreferenced_old_messages_and_expired_envelopes()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var messages = account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer);
        var orphan = $"1999/01/01/orphan-{Guid.NewGuid():N}.eml";
        var shared = $"1999/01/01/shared-{Guid.NewGuid():N}.eml";
        await messages.GetBlobClient(orphan).UploadAsync(BinaryData.FromString("Subject: orphan\r\n\r\nx"));
        await messages.GetBlobClient(shared).UploadAsync(BinaryData.FromString("Subject: shared\r\n\r\nx"));
        var refs = account.Tables.GetTableClient(StorageNames.BlobRefsTable);
        // Two mailboxes reference the shared blob; removing one reference must not free it.
        await refs.UpsertEntityAsync(new TableEntity(TableKeys.Escape(shared), "alice|INBOX|m1"));
        await refs.UpsertEntityAsync(new TableEntity(TableKeys.Escape(shared), "bob|INBOX|m1"));
        await refs.DeleteEntityAsync(TableKeys.Escape(shared), "alice|INBOX|m1");
        await account.Blobs.GetBlobContainerClient(StorageNames.EnvelopesContainer).GetBlobClient("old.json").UploadAsync(BinaryData.FromString("{}"));

        // Age 0: everything counts as old, so only the reference check protects a blob here.
        var result = await new Housekeeping(account, TimeSpan.Zero, NullLogger.Instance).RunAsync(CancellationToken.None);
        Assert.False(await messages.GetBlobClient(orphan).ExistsAsync());
        Assert.True(await messages.GetBlobClient(shared).ExistsAsync());
        Assert.True(result.MessagesDeleted >= 1);
        Assert.True(result.EnvelopesDeleted >= 1);

        await refs.DeleteEntityAsync(TableKeys.Escape(shared), "bob|INBOX|m1");
        await new Housekeeping(account, TimeSpan.Zero, NullLogger.Instance).RunAsync(CancellationToken.None);
        Assert.False(await messages.GetBlobClient(shared).ExistsAsync());

        // With the default age, a fresh unreferenced blob (mail still in a queue) is left alone.
        var fresh = $"2026/11/24/fresh-{Guid.NewGuid():N}.eml";
        await messages.GetBlobClient(fresh).UploadAsync(BinaryData.FromString("Subject: fresh\r\n\r\nx"));
        await new Housekeeping(account, TimeSpan.FromDays(30), NullLogger.Instance).RunAsync(CancellationToken.None);
        Assert.True(await messages.GetBlobClient(fresh).ExistsAsync());
    }
}
