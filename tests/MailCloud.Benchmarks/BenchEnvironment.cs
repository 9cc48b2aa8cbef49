using MailCloud.Core;
using MailCloud.Data;
using MailCloud.LocalDev;
using MailCloud.Storage;

namespace MailCloud.Benchmarks;

/// <summary>A private Azurite with MailCloud's storage provisioned and one hosted user, alice@example.test.</summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    private readonly string _data;

    private BenchEnvironment(string data, AzuriteProcess azurite, StorageAccount account)
    {
        _data = data;
        Azurite = azurite;
        Account = account;
    }

    public AzuriteProcess Azurite { get; }
    public StorageAccount Account { get; }

    public static async Task<BenchEnvironment> StartAsync(bool inMemory = false)
    {
        var data = Path.Combine(Path.GetTempPath(), "mailcloud-bench-" + Guid.NewGuid().ToString("N"));
        var azurite = await AzuriteProcess.StartAsync(Path.Combine(data, "azurite"), inMemory: inMemory);
        var account = new StorageAccount(azurite.Connection);
        await StorageProvisioner.EnsureCreatedAsync(account);
        var directory = StorageProvisioner.Directory(account);
        await directory.AddDomainAsync("example.test");
        await directory.AddUserAsync(MailAddress.Parse("alice@example.test"), "benchmark password");
        return new BenchEnvironment(data, azurite, account);
    }

    public async ValueTask DisposeAsync()
    {
        await Azurite.DisposeAsync();
        try { Directory.Delete(_data, true); } catch (IOException) { }
    }
}
