using MailCloud.LocalDev;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests;

/// <summary>One real Azurite per test collection, on free ports with its data in a temp folder.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? _azurite;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "mailcloud-tests", Guid.NewGuid().ToString("N"));

    public AzuriteProcess Azurite => _azurite ?? throw new InvalidOperationException("Azurite not started.");

    public StorageConnection Connection => Azurite.Connection;

    public string ConnectionString => Azurite.ConnectionString;

    /// <summary>A fresh account object (own request counter) on the shared Azurite.</summary>
    public StorageAccount NewAccount(StorageClientOptions? options = null) => new(Connection, options);

    public static string UniqueName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..12];

    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync(DataDirectory);

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
            await _azurite.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
