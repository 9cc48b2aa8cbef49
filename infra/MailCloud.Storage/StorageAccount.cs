using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace MailCloud.Storage;

/// <summary>
/// The one place the SDK's Blob, Queue and Table service clients are built: from a connection string or from an
/// account's endpoints plus a token credential, all sharing one set of options (and so one request counter).
/// </summary>
public sealed class StorageAccount
{
    public StorageAccount(StorageConnection connection, StorageClientOptions? options = null)
    {
        Connection = connection;
        Options = options ?? new StorageClientOptions();
        if (connection.TokenCredential is { } credential)
        {
            Blobs = new BlobServiceClient(connection.BlobEndpoint, credential, Options.ForBlobs());
            Queues = new QueueServiceClient(connection.QueueEndpoint, credential, Options.ForQueues());
            Tables = new TableServiceClient(connection.TableEndpoint, credential, Options.ForTables());
        }
        else
        {
            var cs = connection.ConnectionString ?? throw new InvalidOperationException("Storage connection has neither a connection string nor a token credential.");
            Blobs = new BlobServiceClient(cs, Options.ForBlobs());
            Queues = new QueueServiceClient(cs, Options.ForQueues());
            Tables = new TableServiceClient(cs, Options.ForTables());
        }
    }

    public StorageConnection Connection { get; }
    public StorageClientOptions Options { get; }
    public BlobServiceClient Blobs { get; }
    public QueueServiceClient Queues { get; }
    public TableServiceClient Tables { get; }
    public StorageRequestCounter RequestCounter => Options.RequestCounter;

    /// <summary>Upload settings: one Put Blob up to the threshold, blocks of <see cref="StorageClientOptions.BlockSize"/> above it.</summary>
    public Azure.Storage.StorageTransferOptions TransferOptions => new()
    {
        InitialTransferSize = Options.SingleUploadThreshold,
        MaximumTransferSize = Options.BlockSize,
        MaximumConcurrency = 1,
    };

    public static StorageAccount FromConnectionString(string connectionString, StorageClientOptions? options = null) =>
        new(StorageConnection.Parse(connectionString), options);
}
