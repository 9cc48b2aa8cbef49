using Azure;

namespace MailCloud.Storage;

/// <summary>Common status checks over <see cref="RequestFailedException"/>.</summary>
public static class StorageErrors
{
    public static bool IsNotFound(this RequestFailedException e) => e.Status == 404;
    public static bool IsConflict(this RequestFailedException e) => e.Status == 409;

    /// <summary>412: an ETag condition did not hold (someone else changed the entity or blob first); retry after a re-read.</summary>
    public static bool IsPreconditionFailed(this RequestFailedException e) => e.Status == 412;

    /// <summary>The service could not be reached at all (no HTTP status): connection refused, DNS, timeout.</summary>
    public static bool IsUnreachable(Exception e) =>
        e is RequestFailedException { Status: 0 } || e is HttpRequestException || e is AggregateException { InnerExceptions: var inner } && inner.All(IsUnreachable)
        || e is TaskCanceledException { InnerException: TimeoutException };

    /// <summary>
    /// Any failure of the storage service or of reaching it (after the pipeline's retries, which end in an
    /// AggregateException): callers turn these into temporary protocol replies.
    /// </summary>
    public static bool IsStorageFailure(Exception e) =>
        e is RequestFailedException or HttpRequestException || IsUnreachable(e)
        || e is AggregateException { InnerExceptions: var inner } && inner.All(IsStorageFailure);
}
