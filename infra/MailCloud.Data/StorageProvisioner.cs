using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>Creates every container, queue and table MailCloud uses (idempotent; the same set Bicep declares).</summary>
public static class StorageProvisioner
{
    public static async Task EnsureCreatedAsync(StorageAccount account, CancellationToken cancellationToken = default)
    {
        var tasks = new List<Task>();
        tasks.AddRange(StorageNames.Containers.Select(c => account.Blobs.GetBlobContainerClient(c).CreateIfNotExistsAsync(cancellationToken: cancellationToken)));
        tasks.AddRange(StorageNames.Queues.Select(q => account.Queues.GetQueueClient(q).CreateIfNotExistsAsync(cancellationToken: cancellationToken)));
        tasks.AddRange(StorageNames.Tables.Select(t => account.Tables.GetTableClient(t).CreateIfNotExistsAsync(cancellationToken)));
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>A health probe: one request (the first row of the directory table); throws when storage fails.</summary>
    public static async Task ProbeAsync(StorageAccount account, CancellationToken cancellationToken = default) =>
        await account.Tables.GetTableClient(StorageNames.DirectoryTable).QueryFirstPageAsync(null, ["PartitionKey"], 1, cancellationToken).ConfigureAwait(false);

    /// <param name="secrets">Where DKIM private keys go (Key Vault in Azure, see <see cref="StorageFactory.Secrets"/>); null keeps them in the directory table.</param>
    public static TableMailDirectory Directory(StorageAccount account, ISecretStore? secrets = null) =>
        new(account.Tables.GetTableClient(StorageNames.DirectoryTable), secrets: secrets);
}
