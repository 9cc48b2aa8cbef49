using System.Globalization;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;

namespace MailCloud.Data;

/// <summary>OData filter helpers that quote values safely.</summary>
public static class TableFilter
{
    public static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
    public static string Equal(string property, string value) => $"{property} eq {Quote(value)}";
    public static string PartitionKey(string pk) => Equal("PartitionKey", pk);

    /// <summary>RowKey ge prefix and lt prefix-with-last-char-incremented: a range scan on keys.</summary>
    public static string RowKeyPrefix(string prefix)
    {
        if (prefix.Length == 0)
            return "RowKey ge ''";
        var upper = prefix[..^1] + (char)(prefix[^1] + 1);
        return $"RowKey ge {Quote(prefix)} and RowKey lt {Quote(upper)}";
    }

    public static string And(params string[] clauses) => string.Join(" and ", clauses.Where(c => !string.IsNullOrEmpty(c)).Select(c => $"({c})"));
}

/// <summary>
/// The data layer's use of the SDK's <see cref="TableClient"/>: point reads that answer null when absent, queries as
/// plain async streams, writes that hand back the new ETag, and column readers that accept a number stored as
/// Int32 or Int64 (the SDK's typed getters refuse the other width).
/// </summary>
public static class TableRows
{
    /// <summary>Point read; null when absent.</summary>
    public static async Task<TableEntity?> GetRowAsync(this TableClient table, string partitionKey, string rowKey, IEnumerable<string>? select = null, CancellationToken cancellationToken = default)
    {
        var response = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, select, cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// Point reads of several rows of one partition, in parallel: one round trip of latency, one billed request per
    /// row, and no scan. (An <c>or</c> of RowKeys in one query is served as a scan of the whole partition, whose cost
    /// grows with the partition.) Absent rows are missing from the result.
    /// </summary>
    public static async Task<Dictionary<string, TableEntity>> GetRowsAsync(this TableClient table, string partitionKey, IEnumerable<string> rowKeys, IEnumerable<string>? select = null, CancellationToken cancellationToken = default)
    {
        var columns = select?.ToList();
        var keys = rowKeys.Distinct(StringComparer.Ordinal).ToList();
        var reads = keys.Select(k => table.GetRowAsync(partitionKey, k, columns, cancellationToken)).ToList();
        await Task.WhenAll(reads).ConfigureAwait(false);
        var found = new Dictionary<string, TableEntity>(keys.Count, StringComparer.Ordinal);
        for (int i = 0; i < keys.Count; i++)
        {
            if (reads[i].Result is { } e)
                found[keys[i]] = e;
        }
        return found;
    }

    /// <summary>Every entity matching the filter, across pages.</summary>
    public static async IAsyncEnumerable<TableEntity> QueryRowsAsync(this TableClient table, string? filter, IEnumerable<string>? select = null, int? maxPerPage = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var e in table.QueryAsync<TableEntity>(filter, maxPerPage, select?.ToList(), cancellationToken).ConfigureAwait(false))
            yield return e;
    }

    /// <summary>The first page only (at most <paramref name="top"/> rows): one request.</summary>
    public static async Task<IReadOnlyList<TableEntity>> QueryFirstPageAsync(this TableClient table, string? filter, IEnumerable<string>? select, int top, CancellationToken cancellationToken = default)
    {
        await foreach (var page in table.QueryAsync<TableEntity>(filter, top, select?.ToList(), cancellationToken).AsPages(pageSizeHint: top).ConfigureAwait(false))
            return page.Values;
        return [];
    }

    /// <summary>Insert; the entity's ETag is set to the new one.</summary>
    public static async Task<ETag> AddRowAsync(this TableClient table, TableEntity entity, CancellationToken cancellationToken = default)
    {
        var response = await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        entity.ETag = response.Headers.ETag ?? default;
        return entity.ETag;
    }

    public static async Task<ETag> UpsertRowAsync(this TableClient table, TableEntity entity, TableUpdateMode mode = TableUpdateMode.Merge, CancellationToken cancellationToken = default)
    {
        var response = await table.UpsertEntityAsync(entity, mode, cancellationToken).ConfigureAwait(false);
        return response.Headers.ETag ?? default;
    }

    /// <summary>Update guarded by <paramref name="ifMatch"/> (412 when someone changed the row first).</summary>
    public static async Task<ETag> UpdateRowAsync(this TableClient table, TableEntity entity, ETag ifMatch, TableUpdateMode mode = TableUpdateMode.Merge, CancellationToken cancellationToken = default)
    {
        var response = await table.UpdateEntityAsync(entity, ifMatch, mode, cancellationToken).ConfigureAwait(false);
        return response.Headers.ETag ?? default;
    }

    /// <summary>Delete (guarded by <paramref name="ifMatch"/> when given); false when there was no such row.</summary>
    public static async Task<bool> DeleteRowAsync(this TableClient table, string partitionKey, string rowKey, ETag ifMatch = default, CancellationToken cancellationToken = default)
    {
        var response = await table.DeleteEntityAsync(partitionKey, rowKey, ifMatch == default ? ETag.All : ifMatch, cancellationToken).ConfigureAwait(false);
        return response.Status != 404;
    }

    /// <summary>The entity's own columns: without PartitionKey, RowKey, Timestamp and the ETag the SDK keeps beside them.</summary>
    public static IEnumerable<KeyValuePair<string, object?>> Columns(this TableEntity e) =>
        e.Where(p => p.Key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag")).Select(p => new KeyValuePair<string, object?>(p.Key, p.Value));

    public static string? ReadString(this TableEntity e, string name) => e.TryGetValue(name, out var v) ? v as string : null;
    public static bool? ReadBoolean(this TableEntity e, string name) => e.TryGetValue(name, out var v) ? v as bool? : null;

    public static int? ReadInt32(this TableEntity e, string name) => e.TryGetValue(name, out var v) ? v switch
    {
        int i => i,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        _ => null,
    } : null;

    public static long? ReadInt64(this TableEntity e, string name) => e.TryGetValue(name, out var v) ? v switch
    {
        long l => l,
        int i => i,
        string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => l,
        _ => null,
    } : null;

    public static double? ReadDouble(this TableEntity e, string name) => e.TryGetValue(name, out var v) ? v switch
    {
        double d => d,
        int i => i,
        long l => l,
        _ => null,
    } : null;

    public static DateTimeOffset? ReadDate(this TableEntity e, string name) => e.TryGetValue(name, out var v) ? v switch
    {
        DateTimeOffset d => d,
        DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, d.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : d.Kind)),
        string s when DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) => d,
        _ => null,
    } : null;

    public static byte[]? ReadBinary(this TableEntity e, string name) => e.TryGetValue(name, out var v) ? v switch
    {
        byte[] b => b,
        BinaryData d => d.ToArray(),
        _ => null,
    } : null;

    /// <summary>A row as a conditional update just left it: its columns before, the ones written (a merge), and the new ETag.</summary>
    internal static TableEntity Followed(TableEntity before, TableEntity written, ETag etag)
    {
        var after = new TableEntity(before.PartitionKey, before.RowKey);
        foreach (var (k, v) in before.Columns())
            after[k] = v;
        foreach (var (k, v) in written.Columns())
            after[k] = v;
        after.ETag = etag;
        return after;
    }
}
