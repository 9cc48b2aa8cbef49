using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailCloud.Storage;

namespace MailCloud.LocalDev;

/// <summary>Queue settings from host.json (extensions.queues), with the Functions host's defaults.</summary>
public sealed record QueueHostSettings(int BatchSize, TimeSpan VisibilityTimeout, int MaxDequeueCount, TimeSpan MaxPollingInterval, bool Base64)
{
    public static QueueHostSettings FromHostJson(string hostJson)
    {
        var queues = JsonNode.Parse(File.ReadAllText(hostJson))?["extensions"]?["queues"];
        TimeSpan Span(string name, TimeSpan fallback) =>
            queues?[name]?.GetValue<string>() is { } s && TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out var t) ? t : fallback;
        return new QueueHostSettings(
            queues?["batchSize"]?.GetValue<int>() ?? 16,
            Span("visibilityTimeout", TimeSpan.Zero),
            queues?["maxDequeueCount"]?.GetValue<int>() ?? 5,
            Span("maxPollingInterval", TimeSpan.FromMinutes(1)),
            !string.Equals(queues?["messageEncoding"]?.GetValue<string>(), "none", StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>One function folder's trigger, from its function.json.</summary>
public sealed record FunctionTrigger(string Function, string Binding, string? Queue, string? Schedule, bool RunOnStartup);

/// <summary>
/// Drives the custom handler locally the way the Functions host does in Azure (Core Tools cannot be installed here):
/// reads host.json and every function.json, polls the trigger queues, POSTs the custom-handler payload to
/// <c>/{function}</c>, deletes the message on 2xx, lets it reappear after the visibility timeout on failure, moves it to
/// <c>{queue}-poison</c> once it has failed <c>maxDequeueCount</c> times, and fires timer triggers on their NCRONTAB schedule.
/// Differences from the real host: one instance (no scale-out, no leases), polling backs off from 0 to
/// <c>maxPollingInterval</c> capped at 2 s, timers use this machine's clock without a singleton lock, and only
/// queue and timer triggers are understood.
/// </summary>
public sealed class FunctionsDriver : IAsyncDisposable
{
    private static readonly TimeSpan BusyPoll = TimeSpan.FromMilliseconds(100);
    private readonly StorageAccount _account;
    private readonly Uri _handler;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(5) };
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly Action<string> _log;

    public FunctionsDriver(StorageAccount account, Uri handler, QueueHostSettings settings, IReadOnlyList<FunctionTrigger> triggers, Action<string>? log = null)
    {
        _account = account;
        _handler = handler;
        Settings = settings;
        Triggers = triggers;
        _log = log ?? (_ => { });
    }

    public QueueHostSettings Settings { get; }
    public IReadOnlyList<FunctionTrigger> Triggers { get; }

    /// <summary>Reads host.json and the function folders beside it (the deployable layout, or the repo's functions/).</summary>
    public static (QueueHostSettings Settings, List<FunctionTrigger> Triggers) Load(string hostJson, string functionsDirectory)
    {
        var triggers = new List<FunctionTrigger>();
        foreach (var dir in Directory.GetDirectories(functionsDirectory).Order(StringComparer.Ordinal))
        {
            var file = Path.Combine(dir, "function.json");
            if (!File.Exists(file))
                continue;
            foreach (var binding in JsonNode.Parse(File.ReadAllText(file))?["bindings"]?.AsArray() ?? [])
            {
                var type = binding?["type"]?.GetValue<string>();
                var name = binding?["name"]?.GetValue<string>() ?? "item";
                if (type == "queueTrigger")
                    triggers.Add(new FunctionTrigger(Path.GetFileName(dir), name, binding!["queueName"]!.GetValue<string>(), null, false));
                else if (type == "timerTrigger")
                    triggers.Add(new FunctionTrigger(Path.GetFileName(dir), name, null, binding!["schedule"]!.GetValue<string>(), binding["runOnStartup"]?.GetValue<bool>() ?? false));
            }
        }
        return (QueueHostSettings.FromHostJson(hostJson), triggers);
    }

    public void Start()
    {
        foreach (var t in Triggers)
            _loops.Add(t.Queue is not null ? Task.Run(() => PollAsync(t, _stop.Token)) : Task.Run(() => TimerAsync(t, _stop.Token)));
    }

    private async Task PollAsync(FunctionTrigger trigger, CancellationToken ct)
    {
        var queue = _account.Queues.GetQueueClient(trigger.Queue!, Settings.Base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None);
        var poison = _account.Queues.GetQueueClient(trigger.Queue + "-poison", Settings.Base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None);
        var idleCap = Settings.MaxPollingInterval < TimeSpan.FromSeconds(2) ? Settings.MaxPollingInterval : TimeSpan.FromSeconds(2);
        var delay = TimeSpan.Zero;
        // While a message runs it stays hidden this long; the real host renews it, we give handlers 5 minutes.
        var lease = TimeSpan.FromMinutes(5);
        while (!ct.IsCancellationRequested)
        {
            IReadOnlyList<QueueMessage> batch;
            try
            {
                batch = await queue.ReceiveMessagesAsync(Math.Clamp(Settings.BatchSize, 1, 32), lease, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                _log($"{trigger.Function}: receive failed: {e.Message}");
                batch = [];
            }
            if (batch.Count == 0)
            {
                delay = delay == TimeSpan.Zero ? BusyPoll : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, idleCap.Ticks));
                try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { return; }
                continue;
            }
            delay = TimeSpan.Zero;
            await Task.WhenAll(batch.Select(m => RunOneAsync(trigger, queue, poison, m, ct)));
        }
    }

    private async Task RunOneAsync(FunctionTrigger trigger, QueueClient queue, QueueClient poison, QueueMessage message, CancellationToken ct)
    {
        bool ok;
        try
        {
            var payload = new JsonObject
            {
                ["Data"] = new JsonObject { [trigger.Binding] = message.Body.ToString() },
                ["Metadata"] = new JsonObject
                {
                    ["DequeueCount"] = message.DequeueCount,
                    ["Id"] = message.MessageId,
                    ["InsertionTime"] = message.InsertionTime,
                    ["ExpirationTime"] = message.ExpirationTime,
                    ["PopReceipt"] = message.PopReceipt,
                    ["sys"] = new JsonObject { ["MethodName"] = trigger.Function, ["UtcNow"] = DateTimeOffset.UtcNow, ["RandGuid"] = Guid.NewGuid().ToString() },
                },
            };
            using var response = await _http.PostAsync(new Uri(_handler, trigger.Function), new StringContent(payload.ToJsonString(), Encoding.UTF8, "application/json"), ct);
            ok = response.IsSuccessStatusCode;
            if (!ok)
                _log($"{trigger.Function}: message {message.MessageId} failed (attempt {message.DequeueCount}): {await response.Content.ReadAsStringAsync(ct)}");
        }
        catch (OperationCanceledException)
        {
            return; // shutting down: the message reappears after its lease, as with a stopped host
        }
        catch (HttpRequestException e)
        {
            ok = false;
            _log($"{trigger.Function}: handler unreachable: {e.Message}");
        }

        try
        {
            if (ok)
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt!, ct);
            else if (message.DequeueCount >= Settings.MaxDequeueCount)
            {
                await poison.CreateIfNotExistsAsync(ct);
                await poison.SendMessageAsync(message.Body, timeToLive: Timeout.InfiniteTimeSpan, cancellationToken: ct);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt!, ct);
                _log($"{trigger.Function}: message {message.MessageId} moved to {trigger.Queue}-poison after {message.DequeueCount} attempts");
            }
            else
                await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt!, Settings.VisibilityTimeout, cancellationToken: ct);
        }
        catch (Exception e) when (e is Azure.RequestFailedException or OperationCanceledException or HttpRequestException)
        {
            // The lease runs out and the message comes back: at-least-once, as in Azure.
        }
    }

    private async Task TimerAsync(FunctionTrigger trigger, CancellationToken ct)
    {
        var schedule = NCrontab.Parse(trigger.Schedule!);
        if (trigger.RunOnStartup)
            await FireAsync(trigger, ct);
        while (!ct.IsCancellationRequested)
        {
            var now = DateTime.UtcNow;
            var next = schedule.Next(now);
            try { await Task.Delay(next - now, ct); } catch (OperationCanceledException) { return; }
            await FireAsync(trigger, ct);
        }
    }

    /// <summary>Runs a timer function now (as the host's admin endpoint can).</summary>
    public async Task<bool> FireAsync(FunctionTrigger trigger, CancellationToken ct = default)
    {
        try
        {
            var payload = new JsonObject { ["Data"] = new JsonObject { [trigger.Binding] = new JsonObject { ["IsPastDue"] = false } }, ["Metadata"] = new JsonObject() };
            using var response = await _http.PostAsync(new Uri(_handler, trigger.Function), JsonContent.Create(payload), ct);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            _log($"{trigger.Function}: timer run failed: {e.Message}");
            return false;
        }
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_loops);
        }
        catch (OperationCanceledException)
        {
        }
        _http.Dispose();
        _stop.Dispose();
    }
}

/// <summary>Six-field NCRONTAB (second minute hour day month day-of-week): numbers, *, */n, a-b and lists.</summary>
public sealed class NCrontab
{
    private readonly HashSet<int>[] _fields;

    private NCrontab(HashSet<int>[] fields) => _fields = fields;

    public static NCrontab Parse(string expression)
    {
        var parts = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 6)
            throw new FormatException($"'{expression}' is not a six-field NCRONTAB expression");
        (int Min, int Max)[] ranges = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
        return new NCrontab(parts.Select((p, i) => Field(p, ranges[i].Min, ranges[i].Max)).ToArray());
    }

    private static HashSet<int> Field(string text, int min, int max)
    {
        var set = new HashSet<int>();
        foreach (var item in text.Split(','))
        {
            var (range, step) = item.Contains('/', StringComparison.Ordinal) ? (item.Split('/')[0], int.Parse(item.Split('/')[1], CultureInfo.InvariantCulture)) : (item, 1);
            int lo = min, hi = max;
            if (range != "*")
            {
                var bounds = range.Split('-');
                lo = int.Parse(bounds[0], CultureInfo.InvariantCulture);
                hi = bounds.Length > 1 ? int.Parse(bounds[1], CultureInfo.InvariantCulture) : (item.Contains('/', StringComparison.Ordinal) ? max : lo);
            }
            for (int v = lo; v <= hi; v += step)
                set.Add(v);
        }
        return set;
    }

    /// <summary>The first matching second after <paramref name="after"/> (UTC).</summary>
    public DateTime Next(DateTime after)
    {
        var t = new DateTime(after.Year, after.Month, after.Day, after.Hour, after.Minute, after.Second, DateTimeKind.Utc).AddSeconds(1);
        for (int guard = 0; guard < 366 * 24 * 60 * 60; guard++)
        {
            if (!_fields[4].Contains(t.Month)) { t = new DateTime(t.Year, t.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1); continue; }
            if (!_fields[3].Contains(t.Day) || !_fields[5].Contains((int)t.DayOfWeek)) { t = t.Date.AddDays(1); continue; }
            if (!_fields[2].Contains(t.Hour)) { t = t.Date.AddHours(t.Hour + 1); continue; }
            if (!_fields[1].Contains(t.Minute)) { t = t.Date.AddHours(t.Hour).AddMinutes(t.Minute + 1); continue; }
            if (!_fields[0].Contains(t.Second)) { t = t.AddSeconds(1); continue; }
            return t;
        }
        throw new InvalidOperationException("schedule never fires");
    }
}
