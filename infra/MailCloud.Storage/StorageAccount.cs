namespace MailCloud.Storage;

/// <summary>The three service clients of one account, sharing options (and so one request counter).</summary>
public sealed class StorageAccount
{
    public StorageAccount(StorageConnection connection, StorageClientOptions? options = null)
    {
        Connection = connection;
        Options = options ?? new StorageClientOptions();
        Blobs = new BlobServiceClient(connection, Options);
        Queues = new QueueServiceClient(connection, Options);
        Tables = new TableServiceClient(connection, Options);
    }

    public StorageConnection Connection { get; }
    public StorageClientOptions Options { get; }
    public BlobServiceClient Blobs { get; }
    public QueueServiceClient Queues { get; }
    public TableServiceClient Tables { get; }
    public StorageRequestCounter RequestCounter => Options.RequestCounter;

    public static StorageAccount FromConnectionString(string connectionString, StorageClientOptions? options = null) =>
        new(StorageConnection.Parse(connectionString), options);
}
