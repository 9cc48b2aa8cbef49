using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure;
using Azure.Core;

namespace MailCloud.Storage;

public enum TableUpdateMode
{
    /// <summary>Only the given properties change; others stay (HTTP MERGE).</summary>
    Merge,

    /// <summary>The entity is replaced whole (HTTP PUT).</summary>
    Replace,
}

public enum TableTransactionActionType
{
    Add,
    Delete,
    UpdateMerge,
    UpdateReplace,
    UpsertMerge,
    UpsertReplace,
}

/// <summary>One operation of an entity group transaction. For updates and deletes, <see cref="ETag"/> defaults to "*".</summary>
public sealed record TableTransactionAction(TableTransactionActionType ActionType, TableEntity Entity, ETag ETag = default);

public sealed record TableTransactionResult(IReadOnlyList<(int Status, ETag ETag)> Responses);

/// <summary>An entity group transaction failed as a whole; nothing of it was applied.</summary>
public sealed class TableTransactionFailedException(int status, string message, string? errorCode, int? failedIndex)
    : RequestFailedException(status, message, errorCode, null)
{
    /// <summary>Index of the action that failed, when the service says which.</summary>
    public int? FailedIndex { get; } = failedIndex;
}

public sealed record TablePage(IReadOnlyList<TableEntity> Items, string? ContinuationToken);

/// <summary>OData filter helpers that quote values safely.</summary>
public static class TableFilter
{
    public static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
    public static string Equal(string property, string value) => $"{property} eq {Quote(value)}";
    public static string PartitionKey(string pk) => Equal("PartitionKey", pk);

    /// <summary>RowKey ge prefix and lt prefix-with-last-char-incremented: a prefix scan on keys.</summary>
    public static string RowKeyPrefix(string prefix)
    {
        if (prefix.Length == 0)
            return "RowKey ge ''";
        var upper = prefix[..^1] + (char)(prefix[^1] + 1);
        return $"RowKey ge {Quote(prefix)} and RowKey lt {Quote(upper)}";
    }

    public static string And(params string[] clauses) => string.Join(" and ", clauses.Where(c => !string.IsNullOrEmpty(c)).Select(c => $"({c})"));
}

public sealed class TableServiceClient
{
    private readonly ServicePipeline _pipeline;

    public TableServiceClient(StorageConnection connection, StorageClientOptions? options = null) =>
        _pipeline = new ServicePipeline(connection, StorageService.Table, options ?? new StorageClientOptions());

    public StorageRequestCounter RequestCounter => _pipeline.Options.RequestCounter;

    public TableClient GetTableClient(string name) => new(_pipeline, name);
}

public sealed partial class TableClient
{
    private const string JsonAccept = "application/json;odata=minimalmetadata";
    private readonly ServicePipeline _pipeline;

    internal TableClient(ServicePipeline pipeline, string name)
    {
        if (!TableNameRegex().IsMatch(name))
            throw new ArgumentException($"'{name}' is not a valid table name (3-63 letters and digits, starting with a letter).", nameof(name));
        _pipeline = pipeline;
        Name = name;
    }

    public string Name { get; }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]{2,62}$")]
    private static partial Regex TableNameRegex();

    [GeneratedRegex(@"^(\d+):")]
    private static partial Regex FailedIndexRegex();

    private Uri Url(string path, string? query = null) =>
        new(_pipeline.Endpoint.ToString().TrimEnd('/') + "/" + path + (string.IsNullOrEmpty(query) ? string.Empty : "?" + query));

    /// <summary>Key escaping for the entity address: quotes doubled, then percent-encoded.</summary>
    private static string Key(string key) => Uri.EscapeDataString(key.Replace("'", "''", StringComparison.Ordinal));

    private string EntityPath(string pk, string rk) => $"{Name}(PartitionKey='{Key(pk)}',RowKey='{Key(rk)}')";

    private HttpMessage Create(RequestMethod method, string operation, Uri uri)
    {
        var msg = _pipeline.CreateMessage(method, operation, uri);
        msg.Request.Headers.SetValue("Accept", JsonAccept);
        msg.Request.Headers.SetValue("DataServiceVersion", "3.0");
        msg.Request.Headers.SetValue("MaxDataServiceVersion", "3.0;NetFx");
        return msg;
    }

    private static void SetJson(HttpMessage msg, byte[] json)
    {
        msg.Request.Headers.SetValue("Content-Type", "application/json");
        msg.Request.Content = RequestContent.Create(json);
    }

    /// <summary>Creates the table; returns false when it already existed.</summary>
    public async Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var msg = Create(RequestMethod.Post, "CreateTable", Url("Tables"));
        msg.Request.Headers.SetValue("Prefer", "return-no-content");
        SetJson(msg, JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["TableName"] = Name }));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 201, 204, 409).ConfigureAwait(false);
        return response.Status != 409;
    }

    public async Task<bool> DeleteIfExistsAsync(CancellationToken cancellationToken = default)
    {
        using var msg = Create(RequestMethod.Delete, "DeleteTable", Url($"Tables('{Name}')"));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 204, 404).ConfigureAwait(false);
        return response.Status == 204;
    }

    /// <summary>Inserts; fails with 409 (EntityAlreadyExists) if the keys are taken. Sets the entity's new ETag.</summary>
    public async Task<ETag> AddEntityAsync(TableEntity entity, CancellationToken cancellationToken = default)
    {
        using var msg = Create(RequestMethod.Post, "InsertEntity", Url(Name));
        msg.Request.Headers.SetValue("Prefer", "return-no-content");
        SetJson(msg, TableJson.Serialize(entity));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 204, 201).ConfigureAwait(false);
        return entity.ETag = response.Headers.ETag ?? default;
    }

    /// <summary>Inserts or updates regardless of the current state (no ETag check).</summary>
    public async Task<ETag> UpsertEntityAsync(TableEntity entity, TableUpdateMode mode = TableUpdateMode.Merge, CancellationToken cancellationToken = default)
    {
        using var msg = Create(mode == TableUpdateMode.Merge ? new RequestMethod("MERGE") : RequestMethod.Put,
            mode == TableUpdateMode.Merge ? "InsertOrMergeEntity" : "InsertOrReplaceEntity", Url(EntityPath(entity.PartitionKey, entity.RowKey)));
        SetJson(msg, TableJson.Serialize(entity));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 204).ConfigureAwait(false);
        return entity.ETag = response.Headers.ETag ?? default;
    }

    /// <summary>
    /// Updates an existing entity if its ETag still equals <paramref name="ifMatch"/> (use <see cref="ETag.All"/> to skip the check).
    /// A stale ETag throws <see cref="PreconditionFailedException"/>; a missing entity, 404.
    /// </summary>
    public async Task<ETag> UpdateEntityAsync(TableEntity entity, ETag ifMatch, TableUpdateMode mode = TableUpdateMode.Merge, CancellationToken cancellationToken = default)
    {
        using var msg = Create(mode == TableUpdateMode.Merge ? new RequestMethod("MERGE") : RequestMethod.Put,
            mode == TableUpdateMode.Merge ? "MergeEntity" : "UpdateEntity", Url(EntityPath(entity.PartitionKey, entity.RowKey)));
        msg.Request.Headers.SetValue("If-Match", ifMatch == default ? "*" : ifMatch.ToString());
        SetJson(msg, TableJson.Serialize(entity));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 204).ConfigureAwait(false);
        return entity.ETag = response.Headers.ETag ?? default;
    }

    /// <summary>Deletes; with a specific ETag only if unchanged (412 otherwise). Returns false when it did not exist.</summary>
    public async Task<bool> DeleteEntityAsync(string partitionKey, string rowKey, ETag ifMatch = default, CancellationToken cancellationToken = default)
    {
        using var msg = Create(RequestMethod.Delete, "DeleteEntity", Url(EntityPath(partitionKey, rowKey)));
        msg.Request.Headers.SetValue("If-Match", ifMatch == default ? "*" : ifMatch.ToString());
        var response = await _pipeline.SendAsync(msg, cancellationToken, 204, 404).ConfigureAwait(false);
        return response.Status == 204;
    }

    /// <summary>Point read; throws 404 (ResourceNotFound) when absent.</summary>
    public async Task<TableEntity> GetEntityAsync(string partitionKey, string rowKey, IEnumerable<string>? select = null, CancellationToken cancellationToken = default) =>
        await GetEntityIfExistsAsync(partitionKey, rowKey, select, cancellationToken).ConfigureAwait(false)
        ?? throw new RequestFailedException(404, $"Entity ({partitionKey}, {rowKey}) not found in table {Name}.", "ResourceNotFound", null);

    /// <summary>Point read; null when absent.</summary>
    public async Task<TableEntity?> GetEntityIfExistsAsync(string partitionKey, string rowKey, IEnumerable<string>? select = null, CancellationToken cancellationToken = default)
    {
        var query = select is null ? null : UriPaths.Query(("$select", string.Join(',', select)));
        using var msg = Create(RequestMethod.Get, "GetEntity", Url(EntityPath(partitionKey, rowKey), query));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200, 404).ConfigureAwait(false);
        if (response.Status == 404)
            return null;
        using var doc = JsonDocument.Parse(response.Content.ToMemory());
        return TableJson.Deserialize(doc.RootElement, response.Headers.ETag);
    }

    /// <summary>
    /// One page of a query. <paramref name="top"/> caps the page size (the service returns at most 1,000);
    /// pass the returned continuation token back to read the next page.
    /// </summary>
    public async Task<TablePage> QueryPageAsync(string? filter = null, IEnumerable<string>? select = null, int? top = null, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        string? nextPk = null, nextRk = null;
        if (!string.IsNullOrEmpty(continuationToken))
        {
            var parts = continuationToken.Split(' ');
            nextPk = parts[0];
            nextRk = parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null;
        }
        var query = UriPaths.Query(
            ("$filter", string.IsNullOrEmpty(filter) ? null : filter),
            ("$select", select is null ? null : string.Join(',', select)),
            ("$top", top?.ToString(CultureInfo.InvariantCulture)),
            ("NextPartitionKey", nextPk),
            ("NextRowKey", nextRk));
        using var msg = Create(RequestMethod.Get, "QueryEntities", Url($"{Name}()", query));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200).ConfigureAwait(false);
        var items = new List<TableEntity>();
        using (var doc = JsonDocument.Parse(response.Content.ToMemory()))
        {
            if (doc.RootElement.TryGetProperty("value", out var value))
            {
                foreach (var e in value.EnumerateArray())
                    items.Add(TableJson.Deserialize(e));
            }
        }
        response.Headers.TryGetValue("x-ms-continuation-NextPartitionKey", out var npk);
        response.Headers.TryGetValue("x-ms-continuation-NextRowKey", out var nrk);
        return new TablePage(items, string.IsNullOrEmpty(npk) ? null : $"{npk} {nrk}");
    }

    /// <summary>Every entity matching the filter, across pages.</summary>
    public async IAsyncEnumerable<TableEntity> QueryAsync(string? filter = null, IEnumerable<string>? select = null, int? maxPerPage = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var selectList = select?.ToList();
        string? token = null;
        do
        {
            var page = await QueryPageAsync(filter, selectList, maxPerPage, token, cancellationToken).ConfigureAwait(false);
            foreach (var e in page.Items)
                yield return e;
            token = page.ContinuationToken;
        }
        while (token is not null);
    }

    /// <summary>
    /// Entity group transaction: up to 100 actions on one partition, applied all or nothing.
    /// Failure throws <see cref="TableTransactionFailedException"/> (412 when an ETag did not match).
    /// </summary>
    public async Task<TableTransactionResult> SubmitTransactionAsync(IEnumerable<TableTransactionAction> actions, CancellationToken cancellationToken = default)
    {
        var list = actions.ToList();
        if (list.Count == 0)
            return new TableTransactionResult([]);
        if (list.Count > 100)
            throw new ArgumentException("A table transaction holds at most 100 actions.", nameof(actions));
        if (list.Select(a => a.Entity.PartitionKey).Distinct(StringComparer.Ordinal).Count() > 1)
            throw new ArgumentException("All actions of a table transaction must share one PartitionKey.", nameof(actions));

        var batch = "batch_" + Guid.NewGuid().ToString("N");
        var changeset = "changeset_" + Guid.NewGuid().ToString("N");
        var body = new StringBuilder();
        body.Append("--").Append(batch).Append("\r\n");
        body.Append("Content-Type: multipart/mixed; boundary=").Append(changeset).Append("\r\n\r\n");
        int contentId = 0;
        foreach (var action in list)
        {
            body.Append("--").Append(changeset).Append("\r\n");
            body.Append("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n");
            var (method, path, ifMatch, hasBody) = action.ActionType switch
            {
                TableTransactionActionType.Add => ("POST", Name, (string?)null, true),
                TableTransactionActionType.Delete => ("DELETE", EntityPath(action.Entity.PartitionKey, action.Entity.RowKey), EtagOrStar(action.ETag), false),
                TableTransactionActionType.UpdateMerge => ("MERGE", EntityPath(action.Entity.PartitionKey, action.Entity.RowKey), EtagOrStar(action.ETag), true),
                TableTransactionActionType.UpdateReplace => ("PUT", EntityPath(action.Entity.PartitionKey, action.Entity.RowKey), EtagOrStar(action.ETag), true),
                TableTransactionActionType.UpsertMerge => ("MERGE", EntityPath(action.Entity.PartitionKey, action.Entity.RowKey), null, true),
                TableTransactionActionType.UpsertReplace => ("PUT", EntityPath(action.Entity.PartitionKey, action.Entity.RowKey), null, true),
                _ => throw new ArgumentOutOfRangeException(nameof(actions), action.ActionType, "Unknown transaction action."),
            };
            body.Append(method).Append(' ').Append(Url(path)).Append(" HTTP/1.1\r\n");
            body.Append("Accept: ").Append(JsonAccept).Append("\r\n");
            body.Append("Content-ID: ").Append(++contentId).Append("\r\n");
            body.Append("DataServiceVersion: 3.0\r\n");
            if (action.ActionType == TableTransactionActionType.Add)
                body.Append("Prefer: return-no-content\r\n");
            if (ifMatch is not null)
                body.Append("If-Match: ").Append(ifMatch).Append("\r\n");
            if (hasBody)
            {
                body.Append("Content-Type: application/json\r\n\r\n");
                body.Append(Encoding.UTF8.GetString(TableJson.Serialize(action.Entity))).Append("\r\n");
            }
            else
            {
                body.Append("\r\n");
            }
        }
        body.Append("--").Append(changeset).Append("--\r\n");
        body.Append("--").Append(batch).Append("--\r\n");

        using var msg = Create(RequestMethod.Post, "EntityGroupTransaction", Url("$batch"));
        msg.Request.Headers.SetValue("Content-Type", "multipart/mixed; boundary=" + batch);
        msg.Request.Content = RequestContent.Create(Encoding.UTF8.GetBytes(body.ToString()));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 202).ConfigureAwait(false);
        var parts = ParseBatchResponse(response.Content.ToString());

        var failed = parts.FindIndex(p => p.Status >= 300);
        if (failed >= 0 || parts.Count != list.Count)
        {
            var part = failed >= 0 ? parts[failed] : parts.LastOrDefault() ?? new BatchPart(400, null, string.Empty);
            var (code, detail) = part.Body is { Length: > 0 } b ? SafeParseError(b) : (null, null);
            int? index = detail is not null && FailedIndexRegex().Match(detail) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
            var status = part.Status == 0 ? 400 : part.Status;
            throw new TableTransactionFailedException(status,
                $"Table transaction on {Name} failed: {status}{(code is null ? "" : $" ({code})")}{(detail is null ? "" : $": {detail}")}", code, index);
        }
        for (int i = 0; i < list.Count; i++)
        {
            if (parts[i].ETag is { } etag)
                list[i].Entity.ETag = etag;
        }
        return new TableTransactionResult(parts.Select(p => (p.Status, p.ETag ?? default)).ToList());
    }

    private static string EtagOrStar(ETag etag) => etag == default ? "*" : etag.ToString();

    private static (string? Code, string? Message) SafeParseError(string body)
    {
        try
        {
            return ServicePipeline.ParseErrorBody(body);
        }
        catch (JsonException)
        {
            return (null, body.Length > 200 ? body[..200] : body);
        }
    }

    private sealed record BatchPart(int Status, ETag? ETag, string Body);

    /// <summary>Reads the embedded HTTP responses of a batch response, in order.</summary>
    private static List<BatchPart> ParseBatchResponse(string text)
    {
        var parts = new List<BatchPart>();
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("HTTP/1.1 ", StringComparison.Ordinal))
                continue;
            int status = int.Parse(lines[i].AsSpan(9, 3), CultureInfo.InvariantCulture);
            ETag? etag = null;
            i++;
            for (; i < lines.Length && lines[i].Length > 0; i++)
            {
                if (lines[i].StartsWith("ETag:", StringComparison.OrdinalIgnoreCase))
                    etag = new ETag(lines[i][5..].Trim());
            }
            var sb = new StringBuilder();
            for (i++; i < lines.Length && !lines[i].StartsWith("--", StringComparison.Ordinal); i++)
                sb.Append(lines[i]).Append('\n');
            i--;
            parts.Add(new BatchPart(status, etag, sb.ToString().Trim()));
        }
        return parts;
    }
}
