using System.Collections.Concurrent;
using System.Net;

namespace MailCloud.Protocols;

/// <summary>
/// Slows down and then blocks password guessing per client address: each recent failure adds a delay before the
/// failure reply; at <see cref="MaxFailures"/> failures within <see cref="Window"/> the address is refused outright
/// until the window passes. Shared by SMTP, IMAP and POP3 in one process.
/// </summary>
public sealed class AuthThrottle(int maxFailures = 10, TimeSpan? window = null, TimeSpan? delayPerFailure = null, TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<IPAddress, Entry> _entries = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public int MaxFailures { get; } = maxFailures;
    public TimeSpan Window { get; } = window ?? TimeSpan.FromMinutes(15);
    public TimeSpan DelayPerFailure { get; } = delayPerFailure ?? TimeSpan.FromSeconds(1);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    private sealed record Entry(int Failures, DateTimeOffset First);

    private Entry? Current(IPAddress address)
    {
        if (!_entries.TryGetValue(address, out var e))
            return null;
        if (_time.GetUtcNow() - e.First > Window)
        {
            _entries.TryRemove(new KeyValuePair<IPAddress, Entry>(address, e));
            return null;
        }
        return e;
    }

    /// <summary>True when this address has failed too often and must not try again now.</summary>
    public bool IsBlocked(IPAddress address) => Current(address)?.Failures >= MaxFailures;

    /// <summary>Records a failure and returns how long to wait before answering it.</summary>
    public TimeSpan RecordFailure(IPAddress address)
    {
        var now = _time.GetUtcNow();
        var e = _entries.AddOrUpdate(address, _ => new Entry(1, now),
            (_, old) => now - old.First > Window ? new Entry(1, now) : old with { Failures = old.Failures + 1 });
        var delay = DelayPerFailure * (e.Failures - 1);
        return delay > MaxDelay ? MaxDelay : delay;
    }

    public void RecordSuccess(IPAddress address) => _entries.TryRemove(address, out _);
}
