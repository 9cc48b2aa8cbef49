using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.LocalDev;
using MailCloud.Mime;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Cli;

/// <summary>`./mailcloud backup` from one Azurite and `./mailcloud restore` into another: users, folders, flags and messages come back.</summary>
public sealed class BackupTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "mailcloud-backup-tests", Guid.NewGuid().ToString("N"));
    private AzuriteProcess _source = null!;
    private AzuriteProcess _target = null!;

    public async Task InitializeAsync()
    {
        _source = await AzuriteProcess.StartAsync(Path.Combine(_data, "source"));
        _target = await AzuriteProcess.StartAsync(Path.Combine(_data, "target"));
    }

    public async Task DisposeAsync()
    {
        await _source.DisposeAsync();
        await _target.DisposeAsync();
        try { Directory.Delete(_data, true); } catch (IOException) { }
    }

    private static MailboxStore Store(StorageAccount a) => new(a.Tables.GetTableClient(StorageNames.MailboxTable), a.Tables.GetTableClient(StorageNames.BlobRefsTable));

    [Fact]
    public async Task A_set_is_listed_only_once_its_manifest_is_whole()
    {
        // The scheduled backup writes while someone lists (CI caught a lister reading an empty manifest).
        var account = new StorageAccount(_source.Connection);
        var container = account.Blobs.GetBlobContainerClient("listing-race");
        await container.CreateIfNotExistsAsync();
        var sets = new StoredBackups(account, container);
        var set = new StoredBackupSet(container, "20261202T120000Z");
        await using (var table = await set.CreateFileAsync("tables/directory.jsonl", CancellationToken.None))
        {
            await table.WriteAsync(Encoding.UTF8.GetBytes("{}\n"));
            Assert.Empty(await sets.ListAsync()); // files going up, no manifest yet: not a set
        }
        await set.WriteManifestAsync(Encoding.UTF8.GetBytes("""{"created":"2026-12-02T12:00:00+00:00","entities":1}"""), CancellationToken.None);
        Assert.Equal(1, Assert.Single(await sets.ListAsync()).Entities);
        // An empty manifest (an older version streamed it and was caught mid-write) does not count as a set.
        await container.GetBlobClient(StoredBackupSet.SetsPrefix + "20261202T130000Z/" + MailboxBackup.ManifestFile).UploadAsync(BinaryData.FromString(string.Empty));
        Assert.Equal("20261202T120000Z", Assert.Single(await sets.ListAsync()).Id);
    }

    [Fact]
    public async Task Backup_and_restore_bring_back_users_folders_flags_and_messages()
    {
        var source = new StorageAccount(_source.Connection);
        await StorageProvisioner.EnsureCreatedAsync(source);
        var directory = StorageProvisioner.Directory(source);
        await directory.AddDomainAsync("saved.example");
        var user = MailAddress.Parse("ann@saved.example");
        await directory.AddUserAsync(user, "backup password", quotaBytes: 1_000_000);
        await directory.AddAliasAsync(MailAddress.Parse("info@saved.example"), [user]);
        var store = Store(source);
        await store.EnsureDefaultFoldersAsync(user);
        await store.CreateFolderAsync(user, "Archive/2026");
        for (int i = 0; i < 3; i++)
        {
            var bytes = Encoding.UTF8.GetBytes($"Subject: kept {i}\r\nFrom: x@remote.example\r\n\r\nbody {i} Grüße\r\n");
            var now = DateTimeOffset.UtcNow;
            var id = MessageIds.New(now);
            var blob = MessageIds.BlobPath(id, now);
            await source.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(blob).UploadAsync(new BinaryData(bytes));
            await store.Writer.AddAsync(user, i == 2 ? "Archive/2026" : "INBOX",
                [new MailboxEntry(id, blob, bytes.Length, now, i == 0 ? "\\Seen $Work" : string.Empty, MailboxWriter.SummaryProperties(MessageSummary.Of(MimeParser.Parse(bytes))))], createFolder: false, CancellationToken.None);
        }

        var folder = Path.Combine(_data, "backup");
        var backup = await MailCloudToolTests.RunAsync(new Dictionary<string, string> { ["MAILCLOUD_STORAGE"] = _source.ConnectionString }, null, "backup", folder);
        Assert.True(backup.ExitCode == 0, backup.Stderr);
        Assert.Contains("3 messages", backup.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "manifest.json")));

        var targetEnv = new Dictionary<string, string> { ["MAILCLOUD_STORAGE"] = _target.ConnectionString };
        var restore = await MailCloudToolTests.RunAsync(targetEnv, null, "restore", folder);
        Assert.True(restore.ExitCode == 0, restore.Stderr);
        var again = await MailCloudToolTests.RunAsync(targetEnv, null, "restore", folder);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already has a directory", again.Stderr, StringComparison.Ordinal);

        var target = new StorageAccount(_target.Connection);
        var restoredDirectory = StorageProvisioner.Directory(target);
        Assert.NotNull(await restoredDirectory.VerifyPasswordAsync("ann@saved.example", "backup password"));
        Assert.Equal(1_000_000, (await restoredDirectory.GetUserAsync(user))!.QuotaBytes);
        Assert.Equal(RecipientKind.Alias, (await restoredDirectory.ResolveRecipientAsync(MailAddress.Parse("info@saved.example"))).Kind);
        Assert.NotNull(await restoredDirectory.GetDkimKeyAsync("saved.example"));

        var targetStore = Store(target);
        Assert.Equal((await store.ListFoldersAsync(user)).OrderBy(f => f.Name), (await targetStore.ListFoldersAsync(user)).OrderBy(f => f.Name));
        foreach (var name in new[] { "INBOX", "Archive/2026" })
        {
            var before = await store.OpenAsync(user, name);
            var after = await targetStore.OpenAsync(user, name);
            Assert.Equal(before.Messages, after.Messages);
            foreach (var m in after.Messages)
            {
                var original = (await source.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(m.Blob).DownloadContentAsync()).ToArray();
                var copy = (await target.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(m.Blob).DownloadContentAsync()).ToArray();
                Assert.Equal(original, copy);
            }
        }
        Assert.Equal("\\Seen $Work", (await targetStore.OpenAsync(user, "INBOX")).Messages[0].Flags);
    }
}
