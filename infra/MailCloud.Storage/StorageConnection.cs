using Azure.Core;

namespace MailCloud.Storage;

/// <summary>
/// Where the storage account lives and how to authenticate to it: parsed from a connection string
/// (SharedKey, including <c>UseDevelopmentStorage=true</c>) or built from endpoints plus an Entra ID credential.
/// </summary>
public sealed class StorageConnection
{
    /// <summary>The well-known Azurite/emulator account key (public, documented by Microsoft).</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";
    public const string DevelopmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public required Uri BlobEndpoint { get; init; }
    public required Uri QueueEndpoint { get; init; }
    public required Uri TableEndpoint { get; init; }
    public required string AccountName { get; init; }
    public SharedKeyCredential? SharedKey { get; init; }
    public TokenCredential? TokenCredential { get; init; }

    /// <summary>A printable description that never contains the key.</summary>
    public override string ToString() => $"{AccountName} (blob {BlobEndpoint}, queue {QueueEndpoint}, table {TableEndpoint})";

    public static StorageConnection Development(string host = "127.0.0.1", int blobPort = 10000, int queuePort = 10001, int tablePort = 10002) => new()
    {
        AccountName = DevelopmentAccountName,
        SharedKey = new SharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey),
        BlobEndpoint = new Uri($"http://{host}:{blobPort}/{DevelopmentAccountName}"),
        QueueEndpoint = new Uri($"http://{host}:{queuePort}/{DevelopmentAccountName}"),
        TableEndpoint = new Uri($"http://{host}:{tablePort}/{DevelopmentAccountName}"),
    };

    /// <summary>Endpoints of a real account in Azure, authenticated with Entra ID (managed identity and friends).</summary>
    public static StorageConnection FromAccount(string accountName, TokenCredential credential, string endpointSuffix = "core.windows.net") => new()
    {
        AccountName = accountName,
        TokenCredential = credential,
        BlobEndpoint = new Uri($"https://{accountName}.blob.{endpointSuffix}"),
        QueueEndpoint = new Uri($"https://{accountName}.queue.{endpointSuffix}"),
        TableEndpoint = new Uri($"https://{accountName}.table.{endpointSuffix}"),
    };

    /// <summary>
    /// Parses an Azure Storage connection string. Supported: <c>UseDevelopmentStorage=true</c>;
    /// <c>DefaultEndpointsProtocol</c>/<c>AccountName</c>/<c>AccountKey</c>/<c>EndpointSuffix</c>;
    /// explicit <c>BlobEndpoint</c>/<c>QueueEndpoint</c>/<c>TableEndpoint</c>.
    /// </summary>
    public static StorageConnection Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var segment in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = segment.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                throw new FormatException($"Connection string segment '{Redact(segment)}' is not of the form Name=Value.");
            parts[segment[..eq].Trim()] = segment[(eq + 1)..].Trim();
        }

        if (parts.TryGetValue("UseDevelopmentStorage", out var dev) && bool.TryParse(dev, out var isDev) && isDev)
        {
            var baseConn = Development();
            if (parts.TryGetValue("DevelopmentStorageProxyUri", out var proxy) && Uri.TryCreate(proxy, UriKind.Absolute, out var proxyUri))
                baseConn = Development(proxyUri.Host);
            return baseConn;
        }

        parts.TryGetValue("AccountName", out var account);
        parts.TryGetValue("AccountKey", out var key);
        var protocol = parts.GetValueOrDefault("DefaultEndpointsProtocol", "https");
        var suffix = parts.GetValueOrDefault("EndpointSuffix", "core.windows.net");

        Uri? Endpoint(string name, string service)
        {
            if (parts.TryGetValue(name, out var explicitEndpoint))
            {
                if (!Uri.TryCreate(explicitEndpoint.TrimEnd('/'), UriKind.Absolute, out var uri))
                    throw new FormatException($"{name} '{explicitEndpoint}' is not an absolute URI.");
                return uri;
            }
            return account is null ? null : new Uri($"{protocol}://{account}.{service}.{suffix}");
        }

        var blob = Endpoint("BlobEndpoint", "blob");
        var queue = Endpoint("QueueEndpoint", "queue");
        var table = Endpoint("TableEndpoint", "table");
        if (blob is null || queue is null || table is null)
            throw new FormatException("Connection string needs AccountName (or explicit BlobEndpoint, QueueEndpoint and TableEndpoint).");

        // Path-style endpoints (Azurite, explicit endpoints) carry the account as the first path segment.
        account ??= blob.AbsolutePath.Trim('/').Split('/')[0];
        if (string.IsNullOrEmpty(account))
            throw new FormatException("Connection string does not name the account (AccountName).");

        return new StorageConnection
        {
            AccountName = account,
            SharedKey = key is null ? null : new SharedKeyCredential(account, key),
            BlobEndpoint = blob,
            QueueEndpoint = queue,
            TableEndpoint = table,
        };
    }

    private static string Redact(string segment) =>
        segment.StartsWith("AccountKey", StringComparison.OrdinalIgnoreCase) ? "AccountKey=***" : segment;
}
