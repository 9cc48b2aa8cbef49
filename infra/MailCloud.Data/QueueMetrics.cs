using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>
/// Queue depths, the age of each queue's oldest visible item, and poison counts as observable gauges
/// (<c>mailcloud.queue.depth</c>, <c>mailcloud.queue.oldest_age</c> in seconds, tag <c>queue</c>). The storage
/// calls happen on a timer (one Get Queue Metadata and one Peek per queue per interval), never inside the exporter's
/// collection, so a slow or unreachable account cannot stall it: the gauges report the last snapshot taken.
/// </summary>
public sealed class QueueMetrics : IAsyncDisposable
{
    private readonly QueueInspector _queues;
    private readonly PeriodicTimer _timer;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();
    private volatile IReadOnlyList<QueueDepth> _snapshot = [];
    // A meter of this instance's (same name as MailMetrics'): disposing it removes the gauges with their callbacks.
    private readonly System.Diagnostics.Metrics.Meter _meter = new(MailMetrics.MeterName);

    public QueueMetrics(StorageAccount account, TimeSpan interval)
    {
        _queues = new QueueInspector(account);
        _timer = new PeriodicTimer(interval);
        _meter.CreateObservableGauge("mailcloud.queue.depth", () => _snapshot.Select(q => new System.Diagnostics.Metrics.Measurement<long>(q.Count, new KeyValuePair<string, object?>("queue", q.Queue))),
            description: "Approximate number of items in each pipeline queue and its poison queue");
        _meter.CreateObservableGauge("mailcloud.queue.oldest_age", () => _snapshot.Where(q => q.FirstVisibleInserted is not null)
            .Select(q => new System.Diagnostics.Metrics.Measurement<double>((DateTimeOffset.UtcNow - q.FirstVisibleInserted!.Value).TotalSeconds, new KeyValuePair<string, object?>("queue", q.Queue))),
            unit: "s", description: "Age of the oldest visible item of each queue");
        _loop = Task.Run(RunAsync);
    }

    public IReadOnlyList<QueueDepth> Snapshot => _snapshot;

    private async Task RunAsync()
    {
        do
        {
            try
            {
                _snapshot = await _queues.DepthsAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (StorageErrors.IsStorageFailure(e))
            {
                // Keep the last snapshot; the health page and /healthz say storage is down.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        while (await _timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _timer.Dispose();
        _meter.Dispose();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
