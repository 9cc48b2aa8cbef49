using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using MailCloud.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace MailCloud.LocalDev;

/// <summary>Queue settings from host.json (extensions.queues), with the Functions host's defaults.</summary>
public sealed record QueueHostSettings(int BatchSize, TimeSpan VisibilityTimeout, int MaxDequeueCount, TimeSpan MaxPollingInterval, bool Base64)
{
    /// <summary>
    /// How long a received message stays hidden while its function runs (the real host renews its lease; we give a
    /// fixed 5 minutes). It is also how late a message comes back whose receive reply was lost.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromMinutes(5);

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

/// <summary>One [Function] method and its trigger, found by reflection.</summary>
public sealed record FunctionTrigger(string Function, MethodInfo Method, string? Queue, string? Schedule, bool RunOnStartup);

/// <summary>
/// Drives the isolated-worker functions locally the way the Functions host does in Azure (Core Tools cannot be
/// installed here: its package downloads the host binary while installing). It finds the <c>[Function]</c> methods and
/// their <c>[QueueTrigger]</c>/<c>[TimerTrigger]</c> attributes by reflection, creates the function class from the
/// same service registrations the worker uses, polls the trigger queues with host.json's settings, runs the method,
/// deletes the message when it returns, lets it reappear after the visibility timeout when it throws, moves it to
/// <c>{queue}-poison</c> once it has failed <c>maxDequeueCount</c> times, and fires timers on their NCRONTAB schedule.
/// Differences from the real host: one instance (no scale-out), a message being processed stays hidden for a 5-minute
/// lease instead of being renewed, polling backs off from 0 to <c>maxPollingInterval</c> capped at 2 s, timers use this
/// machine's clock without a singleton lock, and only queue and timer triggers with string/TimerInfo parameters are bound.
/// </summary>
public sealed class FunctionsDriver : IAsyncDisposable
{
    private const string FunctionAttribute = "Microsoft.Azure.Functions.Worker.FunctionAttribute";
    private const string QueueTriggerAttribute = "Microsoft.Azure.Functions.Worker.QueueTriggerAttribute";
    private const string TimerTriggerAttribute = "Microsoft.Azure.Functions.Worker.TimerTriggerAttribute";
    private static readonly TimeSpan BusyPoll = TimeSpan.FromMilliseconds(100);
    private readonly StorageAccount _account;
    private readonly IServiceProvider _services;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly Action<string> _log;

    public FunctionsDriver(StorageAccount account, IServiceProvider services, QueueHostSettings settings, IReadOnlyList<FunctionTrigger> triggers, Action<string>? log = null)
    {
        if (!settings.Base64)
            throw new NotSupportedException("host.json sets messageEncoding none; MailCloud's queues carry base64 messages (the host's default).");
        _account = account;
        _services = services;
        Settings = settings;
        Triggers = triggers;
        _log = log ?? (_ => { });
    }

    public QueueHostSettings Settings { get; }
    public IReadOnlyList<FunctionTrigger> Triggers { get; }

    /// <summary>Every <c>[Function]</c> method of <paramref name="assembly"/> with a queue or timer trigger parameter.</summary>
    public static IReadOnlyList<FunctionTrigger> Discover(Assembly assembly)
    {
        var triggers = new List<FunctionTrigger>();
        foreach (var type in assembly.GetExportedTypes())
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            {
                if (method.CustomAttributes.FirstOrDefault(a => a.AttributeType.FullName == FunctionAttribute) is not { } function)
                    continue;
                var name = (string)function.ConstructorArguments[0].Value!;
                foreach (var p in method.GetParameters())
                {
                    foreach (var a in p.CustomAttributes)
                    {
                        if (a.AttributeType.FullName == QueueTriggerAttribute)
                            triggers.Add(new FunctionTrigger(name, method, (string)a.ConstructorArguments[0].Value!, null, false));
                        else if (a.AttributeType.FullName == TimerTriggerAttribute)
                            triggers.Add(new FunctionTrigger(name, method, null, (string)a.ConstructorArguments[0].Value!,
                                a.NamedArguments.FirstOrDefault(n => n.MemberName == "RunOnStartup").TypedValue.Value as bool? ?? false));
                    }
                }
            }
        }
        return triggers;
    }

    public void Start()
    {
        foreach (var t in Triggers)
            _loops.Add(t.Queue is not null ? Task.Run(() => PollAsync(t, _stop.Token)) : Task.Run(() => TimerAsync(t, _stop.Token)));
    }

    /// <summary>Runs the function's method once with <paramref name="item"/> as its trigger value (a queue message's text; ignored for timers).</summary>
    public async Task InvokeAsync(FunctionTrigger trigger, string? item, CancellationToken ct)
    {
        using var scope = _services.CreateScope();
        var instance = trigger.Method.IsStatic ? null : ActivatorUtilities.GetServiceOrCreateInstance(scope.ServiceProvider, trigger.Method.DeclaringType!);
        var args = trigger.Method.GetParameters().Select(p =>
        {
            if (p.ParameterType == typeof(CancellationToken))
                return ct;
            if (p.CustomAttributes.Any(a => a.AttributeType.FullName == QueueTriggerAttribute))
                return p.ParameterType == typeof(BinaryData) ? BinaryData.FromString(item ?? string.Empty) : (object?)item;
            if (p.CustomAttributes.Any(a => a.AttributeType.FullName == TimerTriggerAttribute))
                return Activator.CreateInstance(p.ParameterType);
            return scope.ServiceProvider.GetService(p.ParameterType);
        }).ToArray();
        try
        {
            if (trigger.Method.Invoke(instance, args) is Task task)
                await task.ConfigureAwait(false);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
        }
    }

    private async Task PollAsync(FunctionTrigger trigger, CancellationToken ct)
    {
        var queue = _account.Queues.GetQueueClient(trigger.Queue!);
        var poison = _account.Queues.GetQueueClient(trigger.Queue + "-poison");
        var idleCap = Settings.MaxPollingInterval < TimeSpan.FromSeconds(2) ? Settings.MaxPollingInterval : TimeSpan.FromSeconds(2);
        var delay = TimeSpan.Zero;
        var lease = Settings.Lease;
        while (!ct.IsCancellationRequested)
        {
            QueueMessage[] batch;
            try
            {
                batch = (await queue.ReceiveMessagesAsync(Math.Clamp(Settings.BatchSize, 1, 32), lease, ct)).Value;
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
            if (batch.Length == 0)
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
            await InvokeAsync(trigger, message.Body.ToString(), ct);
            ok = true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return; // shutting down: the message reappears after its lease, as with a stopped host
        }
        catch (Exception e)
        {
            ok = false;
            _log($"{trigger.Function}: message {message.MessageId} failed (attempt {message.DequeueCount}): {e.GetType().Name}: {e.Message}");
        }

        try
        {
            if (ok)
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
            else if (message.DequeueCount >= Settings.MaxDequeueCount)
            {
                await poison.CreateIfNotExistsAsync(cancellationToken: ct);
                await poison.SendMessageAsync(message.Body, timeToLive: TimeSpan.FromSeconds(-1) /* never expires */, cancellationToken: ct);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
                _log($"{trigger.Function}: message {message.MessageId} moved to {trigger.Queue}-poison after {message.DequeueCount} attempts");
            }
            else
                await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: Settings.VisibilityTimeout, cancellationToken: ct);
        }
        catch (Exception e) when (e is Azure.RequestFailedException or OperationCanceledException or HttpRequestException)
        {
            // The lease runs out and the message comes back: at-least-once, as in Azure.
        }
    }

    /// <summary>
    /// A schedule as the host reads it: "%NAME%" is the app setting (here the environment variable) NAME. Null when
    /// that setting is missing or "off": the host would refuse to start such a function, this driver leaves it out.
    /// </summary>
    public static string? ResolveSchedule(string schedule, Func<string, string?>? env = null)
    {
        if (schedule.Length < 3 || schedule[0] != '%' || schedule[^1] != '%')
            return schedule;
        var value = (env ?? Environment.GetEnvironmentVariable)(schedule[1..^1])?.Trim();
        return string.IsNullOrEmpty(value) || value == "off" ? null : value;
    }

    private async Task TimerAsync(FunctionTrigger trigger, CancellationToken ct)
    {
        if (ResolveSchedule(trigger.Schedule!) is not { } expression)
        {
            _log($"{trigger.Function}: not scheduled ({trigger.Schedule} is not set or is off)");
            return;
        }
        var schedule = NCrontab.Parse(expression);
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

    /// <summary>Runs a timer function now (as the host's admin endpoint can); false when it threw.</summary>
    public async Task<bool> FireAsync(FunctionTrigger trigger, CancellationToken ct = default)
    {
        try
        {
            await InvokeAsync(trigger, null, ct);
            return true;
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            _log($"{trigger.Function}: timer run failed: {e.GetType().Name}: {e.Message}");
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
