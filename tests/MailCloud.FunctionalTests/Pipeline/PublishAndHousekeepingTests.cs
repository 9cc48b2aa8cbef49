using System.Diagnostics;
using System.Net.Http.Json;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FunctionalTests.Cli;
using MailCloud.LocalDev;
using MailCloud.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailCloud.FunctionalTests.Pipeline;

[Collection(AzuriteCollection.Name)]
public sealed class PublishAndHousekeepingTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Published_package_lists_every_function_with_its_trigger()
    {
        var repo = MailCloudToolTests.RepoRoot();
        var output = Path.Combine(Path.GetTempPath(), "mailcloud-publish-" + Guid.NewGuid().ToString("N"));
        try
        {
            var r = await ExternalProcess.RunAsync(Path.Combine(repo, "functions", "publish.sh"), [output], timeout: TimeSpan.FromMinutes(5));
            Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(repo, "host.json")), await File.ReadAllTextAsync(Path.Combine(output, "host.json")));
            Assert.True(File.Exists(output + ".zip"));
            // Precompiled for linux-x64 (ReadyToRun: a managed native header beside the IL), still framework-dependent.
            foreach (var precompiled in new[] { "MailCloud.Functions.dll", "MailCloud.Pipeline.dll", "MailCloud.Data.dll" })
            {
                using var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(Path.Combine(output, precompiled)));
                Assert.True(pe.PEHeaders.CorHeader is { ManagedNativeHeaderDirectory.Size: > 0 }, $"{precompiled} is not ReadyToRun");
            }
            Assert.False(File.Exists(Path.Combine(output, "System.Private.CoreLib.dll"))); // the platform's runtime, not a copy

            // The SDK's generated metadata is what the Functions host reads: every function, its trigger and queue.
            using var metadata = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "functions.metadata")));
            var functions = metadata.RootElement.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f);
            Assert.Equal(["backup", "deliver", "housekeeping", "inbound", "index", "learn"], functions.Keys.Order(StringComparer.Ordinal));
            foreach (var (name, queue) in new[] { ("inbound", "inbound"), ("index", "index"), ("deliver", "outbound"), ("learn", "learn") })
            {
                var binding = functions[name].GetProperty("bindings")[0];
                Assert.Equal("queueTrigger", binding.GetProperty("type").GetString());
                Assert.Equal(queue, binding.GetProperty("queueName").GetString());
                Assert.Equal("AzureWebJobsStorage", binding.GetProperty("connection").GetString());
                Assert.Equal("dotnet-isolated", functions[name].GetProperty("language").GetString());
            }
            var timer = functions["housekeeping"].GetProperty("bindings")[0];
            Assert.Equal("timerTrigger", timer.GetProperty("type").GetString());
            Assert.Equal("0 30 3 * * *", timer.GetProperty("schedule").GetString());
            // The backup's schedule is an app setting (Bicep sets MAILCLOUD_BACKUP_SCHEDULE).
            Assert.Equal("%MAILCLOUD_BACKUP_SCHEDULE%", functions["backup"].GetProperty("bindings")[0].GetProperty("schedule").GetString());

            // The binding extensions the host loads for the queue trigger.
            var extensions = await File.ReadAllTextAsync(Path.Combine(output, "extensions.json"));
            Assert.Contains("AzureStorageQueues", extensions, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(output, "worker.config.json")));

            // The local driver finds the same functions in the published assembly.
            var assembly = System.Reflection.Assembly.LoadFrom(Path.Combine(output, "MailCloud.Functions.dll"));
            Assert.Equal(functions.Keys.Order(StringComparer.Ordinal), FunctionsDriver.Discover(assembly).Select(t => t.Function).Order(StringComparer.Ordinal));
        }
        finally
        {
            try { Directory.Delete(output, true); } catch (IOException) { }
            try { File.Delete(output + ".zip"); } catch (IOException) { }
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

    [Fact]
    public async Task Housekeeping_expires_traces_by_age_and_keeps_recent_ones()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var store = new MessageTraceStore(account);
        var now = DateTimeOffset.UtcNow;
        var oldId = MessageIds.New(now - TimeSpan.FromDays(40));
        var newId = MessageIds.New(now);
        await store.RecordAsync(oldId, [(now - TimeSpan.FromDays(40), TraceStage.Accepted, "old")], ["who@example.test"]);
        await store.RecordAsync("dsn" + oldId, [(now - TimeSpan.FromDays(40), TraceStage.Accepted, "old bounce")]);
        await store.RecordAsync(newId, [(now, TraceStage.Accepted, "new")], ["who@example.test"]);
        // A re-run recording the same acceptance replaces its row rather than adding one.
        await store.RecordAsync(newId, [(now, TraceStage.Accepted, "new")], ["who@example.test"]);
        Assert.Single(await store.EventsAsync(newId));
        Assert.Equal([newId, oldId], (await store.ForAddressAsync("Who@Example.test")).Select(v => v.MessageId));
        // Rows are inserted, and a collision writes the whole stage again as replacements: a new event beside a
        // repeated one is kept too.
        var again = MessageIds.New(now);
        await store.RecordAsync(again, [(now, TraceStage.Accepted, "again")]);
        await store.RecordAsync(again, [(now, TraceStage.Accepted, "again"), (now, TraceStage.Filtered, "clean")]);
        Assert.Equal(["again", "clean"], (await store.EventsAsync(again)).Select(e => e.Text).Order());

        var result = await new Housekeeping(account, TimeSpan.FromDays(30), NullLogger.Instance, traceRetention: TimeSpan.FromDays(30)).RunAsync(CancellationToken.None);
        Assert.Equal(3, result.TraceRowsDeleted); // the two old events and the old address row
        Assert.Empty(await store.EventsAsync(oldId));
        Assert.Empty(await store.EventsAsync("dsn" + oldId));
        Assert.Equal("new", Assert.Single(await store.EventsAsync(newId)).Text);
        Assert.Equal([newId], (await store.ForAddressAsync("who@example.test")).Select(v => v.MessageId));
    }
}
