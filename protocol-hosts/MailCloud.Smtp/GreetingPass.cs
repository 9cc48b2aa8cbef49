using System.Collections.Concurrent;
using System.Net;

namespace MailCloud.Smtp;

/// <summary>
/// The MX greeting pause without its throughput cap, as Postfix's postscreen does it: a client address that waited
/// for the greeting once (no early talk) is remembered for <c>ttl</c> and greeted at once on its next connections,
/// and trusted networks are never paused. Bounded: at most <c>capacity</c> addresses, expired ones pruned first.
/// </summary>
public sealed class GreetingPass(TimeSpan ttl, IReadOnlyList<IPNetwork> trusted, TimeProvider? time = null, int capacity = 100_000)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<IPAddress, DateTimeOffset> _passed = new();

    public int Remembered => _passed.Count;

    /// <summary>Whether this client is greeted without the pause.</summary>
    public bool SkipsPause(IPAddress client)
    {
        client = Normalize(client);
        if (trusted.Any(n => n.Contains(client)))
            return true;
        return _passed.TryGetValue(client, out var until) && until > _time.GetUtcNow();
    }

    /// <summary>The client waited for the greeting: remember it (unless remembering is off or the table is full of live entries).</summary>
    public void Passed(IPAddress client)
    {
        if (ttl <= TimeSpan.Zero)
            return;
        var now = _time.GetUtcNow();
        if (_passed.Count >= capacity)
        {
            foreach (var (address, until) in _passed)
            {
                if (until <= now)
                    _passed.TryRemove(address, out _);
            }
            if (_passed.Count >= capacity)
                return;
        }
        _passed[Normalize(client)] = now + ttl;
    }

    private static IPAddress Normalize(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
