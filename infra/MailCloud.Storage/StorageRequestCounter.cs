using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace MailCloud.Storage;

/// <summary>
/// Counts storage requests (every HTTP attempt, retries included: each one is billed) by service and operation.
/// Also published on the <c>MailCloud.Storage</c> meter so an exporter can pick the figures up.
/// </summary>
public sealed class StorageRequestCounter
{
    public const string MeterName = "MailCloud.Storage";
    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("mailcloud.storage.requests", description: "Storage requests by service and operation");

    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public void Increment(string service, string operation)
    {
        _counts.AddOrUpdate($"{service}.{operation}", 1, static (_, v) => v + 1);
        Requests.Add(1, new KeyValuePair<string, object?>("service", service), new KeyValuePair<string, object?>("operation", operation));
    }

    /// <summary>Counts keyed "service.operation", e.g. <c>blob.PutBlob</c>.</summary>
    public IReadOnlyDictionary<string, long> Snapshot() => new Dictionary<string, long>(_counts, StringComparer.Ordinal);

    public long Total => _counts.Values.Sum();

    public long Get(string service, string operation) => _counts.GetValueOrDefault($"{service}.{operation}");

    public void Reset() => _counts.Clear();
}
