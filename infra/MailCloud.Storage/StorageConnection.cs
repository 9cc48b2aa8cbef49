using Azure.Core;
using Azure.Storage.Blobs;

namespace MailCloud.Storage;

/// <summary>
/// Where the storage account lives and how to authenticate to it: a connection string (account key, including
/// <c>UseDevelopmentStorage=true</c> and explicit endpoints) or, in Azure, an account name plus an Entra ID credential.
/// The SDK clients parse the connection string; this type only keeps what the clients are built from.
/// </summary>
public sealed class StorageConnection
{
    /// <summary>The well-known Azurite/emulator account (public, documented by Microsoft).</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";
    public const string DevelopmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private StorageConnection(string accountName, Uri blob, Uri queue, Uri table, string? connectionString, TokenCredential? credential)
    {
        AccountName = accountName;
        BlobEndpoint = blob;
        QueueEndpoint = queue;
        TableEndpoint = table;
        ConnectionString = connectionString;
        TokenCredential = credential;
    }

    public string AccountName { get; }
    public Uri BlobEndpoint { get; }
    public Uri QueueEndpoint { get; }
    public Uri TableEndpoint { get; }

    /// <summary>Set when the clients authenticate with the account key of a connection string.</summary>
    public string? ConnectionString { get; }

    /// <summary>Set when the clients authenticate with Entra ID (managed identity).</summary>
    public TokenCredential? TokenCredential { get; }

    /// <summary>A printable description that never contains the key.</summary>
    public override string ToString() => $"{AccountName} (blob {BlobEndpoint}, queue {QueueEndpoint}, table {TableEndpoint})";

    /// <summary>Azurite on the given host and ports (path-style endpoints with the well-known account).</summary>
    public static StorageConnection Development(string host = "127.0.0.1", int blobPort = 10000, int queuePort = 10001, int tablePort = 10002) =>
        Parse(DevelopmentConnectionString(host, blobPort, queuePort, tablePort));

    public static string DevelopmentConnectionString(string host, int blobPort, int queuePort, int tablePort) =>
        $"DefaultEndpointsProtocol=http;AccountName={DevelopmentAccountName};AccountKey={DevelopmentAccountKey};" +
        $"BlobEndpoint=http://{host}:{blobPort}/{DevelopmentAccountName};" +
        $"QueueEndpoint=http://{host}:{queuePort}/{DevelopmentAccountName};" +
        $"TableEndpoint=http://{host}:{tablePort}/{DevelopmentAccountName};";

    /// <summary>A real account in Azure, authenticated with Entra ID (managed identity and friends).</summary>
    public static StorageConnection FromAccount(string accountName, TokenCredential credential, string endpointSuffix = "core.windows.net") => new(
        accountName,
        new Uri($"https://{accountName}.blob.{endpointSuffix}"),
        new Uri($"https://{accountName}.queue.{endpointSuffix}"),
        new Uri($"https://{accountName}.table.{endpointSuffix}"),
        null, credential);

    /// <summary>
    /// Checks a connection string by letting the SDK parse it and keeps it. Supported forms are the SDK's:
    /// <c>UseDevelopmentStorage=true</c>, <c>AccountName</c>/<c>AccountKey</c>/<c>EndpointSuffix</c>, explicit
    /// <c>BlobEndpoint</c>/<c>QueueEndpoint</c>/<c>TableEndpoint</c>. Errors never echo the key.
    /// </summary>
    public static StorageConnection Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        try
        {
            var blobs = new BlobServiceClient(connectionString);
            var queues = new Azure.Storage.Queues.QueueServiceClient(connectionString);
            var tables = new Azure.Data.Tables.TableServiceClient(connectionString);
            if (string.IsNullOrEmpty(blobs.AccountName))
                throw new FormatException("Connection string does not name the account (AccountName).");
            return new StorageConnection(blobs.AccountName, blobs.Uri, queues.Uri, tables.Uri, connectionString, null);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or UriFormatException or IndexOutOfRangeException)
        {
            throw new FormatException("Not a usable Azure Storage connection string (expected UseDevelopmentStorage=true, " +
                                      "AccountName=...;AccountKey=... or explicit BlobEndpoint/QueueEndpoint/TableEndpoint with AccountKey).");
        }
    }
}
