using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace MailCloud.Storage;

/// <summary>
/// What MailCloud sets on every storage client: retries, transport, transfer sizes and the shared request counter.
/// Copied onto the SDK's Blob, Queue and Table client options by <see cref="StorageAccount"/>.
/// </summary>
public sealed class StorageClientOptions : ClientOptions
{
    public StorageClientOptions()
    {
        // Exponential backoff on 408/429/500/502/503/504 and transport failures (Azure.Core's RetryPolicy).
        Retry.Mode = RetryMode.Exponential;
        Retry.MaxRetries = 4;
        Retry.Delay = TimeSpan.FromMilliseconds(200);
        Retry.MaxDelay = TimeSpan.FromSeconds(10);
        Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
        Diagnostics.IsLoggingContentEnabled = false;
        Diagnostics.IsDistributedTracingEnabled = false;
        Diagnostics.ApplicationId = "MailCloud";
    }

    /// <summary>Counts every HTTP attempt by service and operation; shared by all clients made from these options.</summary>
    public StorageRequestCounter RequestCounter { get; set; } = new();

    /// <summary>Size of one staged block when a blob upload does not fit one Put Blob.</summary>
    public int BlockSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Uploads up to this size go out as one Put Blob request.</summary>
    public int SingleUploadThreshold { get; set; } = 4 * 1024 * 1024;

    /// <summary>Copy of these options with fewer retries, for interactive tools that should fail fast.</summary>
    public static StorageClientOptions FailFast()
    {
        var o = new StorageClientOptions();
        o.Retry.MaxRetries = 1;
        o.Retry.NetworkTimeout = TimeSpan.FromSeconds(15);
        return o;
    }

    internal BlobClientOptions ForBlobs() => Apply(new BlobClientOptions(), "blob");

    /// <summary>Queue messages are base64, as the Functions queue trigger expects by default.</summary>
    internal QueueClientOptions ForQueues() => Apply(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 }, "queue");

    internal TableClientOptions ForTables() => Apply(new TableClientOptions(), "table");

    private T Apply<T>(T target, string service) where T : ClientOptions
    {
        target.Retry.Mode = Retry.Mode;
        target.Retry.MaxRetries = Retry.MaxRetries;
        target.Retry.Delay = Retry.Delay;
        target.Retry.MaxDelay = Retry.MaxDelay;
        target.Retry.NetworkTimeout = Retry.NetworkTimeout;
        target.Transport = Transport;
        target.Diagnostics.IsLoggingEnabled = Diagnostics.IsLoggingEnabled;
        target.Diagnostics.IsLoggingContentEnabled = false;
        target.Diagnostics.IsDistributedTracingEnabled = Diagnostics.IsDistributedTracingEnabled;
        target.Diagnostics.ApplicationId = Diagnostics.ApplicationId;
        // Per retry: every attempt is a billed request.
        target.AddPolicy(new RequestCountingPolicy(RequestCounter, service), HttpPipelinePosition.PerRetry);
        return target;
    }
}
