namespace MailCloud.Protocols;

/// <summary>
/// How long the next read may wait, for a limit that bytes alone do not reset: a client that sends one byte every
/// few seconds would otherwise hold its connection for ever under a per-read timeout (slowloris). The clock restarts
/// only when the protocol made progress (a whole command was taken, or the state moved on).
/// </summary>
public sealed class ReadDeadline(TimeSpan limit, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private DateTimeOffset _until = (time ?? TimeProvider.System).GetUtcNow() + limit;

    public TimeSpan Limit { get; } = limit;

    /// <summary>The protocol moved on: the full limit again from now.</summary>
    public void Restart() => _until = _time.GetUtcNow() + Limit;

    /// <summary>More time earned (message data at the minimum rate), never beyond the full limit from now.</summary>
    public void Extend(TimeSpan by)
    {
        var now = _time.GetUtcNow();
        _until = (_until > now ? _until : now) + by;
        if (_until > now + Limit)
            _until = now + Limit;
    }

    /// <summary>What is left for the next read (zero once the deadline passed: time out at once).</summary>
    public TimeSpan Remaining => _until - _time.GetUtcNow() is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;
}
