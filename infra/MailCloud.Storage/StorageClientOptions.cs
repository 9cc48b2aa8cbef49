using Azure.Core;

namespace MailCloud.Storage;

/// <summary>Options shared by the Blob, Queue and Table clients (retry policy, service versions, request counting).</summary>
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
        Diagnostics.ApplicationId = "MailCloud";
    }

    /// <summary>x-ms-version for Blob and Queue requests.</summary>
    public string BlobQueueServiceVersion { get; set; } = "2025-05-05";

    /// <summary>x-ms-version for Table requests (the Table service accepts the older version family).</summary>
    public string TableServiceVersion { get; set; } = "2019-02-02";

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
}
