using Azure.Core;
using Azure.Core.Pipeline;

namespace MailCloud.Storage;

/// <summary>
/// Counts each HTTP attempt of a storage client under the REST operation it is (Put Blob, Put Message, Query
/// Entities, ...), named from the request alone: verb, <c>comp</c>, <c>restype</c>, <c>$batch</c> and the path shape.
/// </summary>
internal sealed class RequestCountingPolicy(StorageRequestCounter counter, string service) : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message) => counter.Increment(service, Operation(service, message.Request));

    internal static string Operation(string service, Request request)
    {
        var uri = request.Uri.ToUri();
        var query = System.Web.HttpUtility.ParseQueryString(uri.Query);
        var comp = query["comp"];
        var restype = query["restype"];
        var method = request.Method.Method.ToUpperInvariant();
        // Path segments after the account: path-style endpoints (Azurite: an IP address or a dotless host such as
        // localhost) carry the account as the first segment, the service's own host names do not.
        var segments = uri.AbsolutePath.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
        bool pathStyle = System.Net.IPAddress.TryParse(uri.Host, out _) || !uri.Host.Contains('.', StringComparison.Ordinal);
        if (pathStyle && segments.Count > 0)
            segments.RemoveAt(0);
        return service switch
        {
            "blob" => Blob(method, comp, restype, segments.Count, request.Headers.Contains("x-ms-copy-source")),
            "queue" => Queue(method, comp, segments, query["peekonly"] == "true"),
            _ => Table(method, segments, request.Headers.Contains("If-Match")),
        };
    }

    private static string Blob(string method, string? comp, string? restype, int depth, bool copy) => (method, comp, restype, depth) switch
    {
        (_, "list", "container", _) => "ListBlobs",
        (_, "list", _, _) => "ListContainers",
        ("PUT", null, "container", _) => "CreateContainer",
        ("DELETE", null, "container", _) => "DeleteContainer",
        ("GET" or "HEAD", null, "container", _) => "GetContainerProperties",
        ("PUT", "block", _, _) => "PutBlock",
        ("PUT", "blocklist", _, _) => "PutBlockList",
        ("GET", "blocklist", _, _) => "GetBlockList",
        ("PUT", "metadata", _, _) => "SetBlobMetadata",
        ("PUT", "properties", _, _) => "SetBlobProperties",
        ("PUT", null, null, _) => copy ? "CopyBlob" : "PutBlob",
        ("GET", null, null, _) => "GetBlob",
        ("HEAD", null, null, _) => "GetBlobProperties",
        ("DELETE", null, null, _) => "DeleteBlob",
        (_, "batch", _, _) => "BlobBatch",
        _ => $"{method}.{comp ?? restype ?? "other"}",
    };

    private static string Queue(string method, string? comp, List<string> segments, bool peek)
    {
        if (comp == "list")
            return "ListQueues";
        if (comp == "metadata")
            return method == "PUT" ? "SetQueueMetadata" : "GetQueueMetadata";
        bool messages = segments.Count >= 2 && segments[1] == "messages";
        bool oneMessage = segments.Count >= 3;
        return (method, messages, oneMessage) switch
        {
            ("PUT", false, _) => "CreateQueue",
            ("DELETE", false, _) => "DeleteQueue",
            ("POST", true, false) => "PutMessage",
            ("GET", true, false) => peek ? "PeekMessages" : "GetMessages",
            ("DELETE", true, false) => "ClearMessages",
            ("DELETE", true, true) => "DeleteMessage",
            ("PUT", true, true) => "UpdateMessage",
            _ => $"{method}.{comp ?? "other"}",
        };
    }

    private static string Table(string method, List<string> segments, bool conditional)
    {
        var last = segments.Count == 0 ? string.Empty : Uri.UnescapeDataString(segments[^1]);
        if (last == "$batch")
            return "EntityGroupTransaction";
        if (last.StartsWith("Tables", StringComparison.Ordinal))
            return method switch { "POST" => "CreateTable", "DELETE" => "DeleteTable", _ => "QueryTables" };
        bool entity = last.Contains("PartitionKey=", StringComparison.Ordinal);
        return (method, entity) switch
        {
            ("GET", true) => "GetEntity",
            ("GET", false) => "QueryEntities",
            ("POST", false) => "InsertEntity",
            // Without If-Match a PUT or MERGE is an upsert.
            ("PUT", true) => conditional ? "UpdateEntity" : "InsertOrReplaceEntity",
            ("MERGE" or "PATCH", true) => conditional ? "MergeEntity" : "InsertOrMergeEntity",
            ("DELETE", true) => "DeleteEntity",
            _ => $"{method}.other",
        };
    }
}
