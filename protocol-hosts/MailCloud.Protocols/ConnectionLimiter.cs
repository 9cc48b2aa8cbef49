using System.Collections.Concurrent;
using System.Net;

namespace MailCloud.Protocols;

/// <summary>Caps concurrent connections in total and per client address. Dispose the lease when the connection ends.</summary>
public sealed class ConnectionLimiter(int maxTotal, int maxPerAddress)
{
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
    private int _total;

    public int Current => Volatile.Read(ref _total);

    public IDisposable? TryAcquire(IPAddress? address)
    {
        if (Interlocked.Increment(ref _total) > maxTotal)
        {
            Interlocked.Decrement(ref _total);
            return null;
        }
        if (address is null)
            return new Lease(this, null);
        var count = _perAddress.AddOrUpdate(address, 1, static (_, c) => c + 1);
        if (count > maxPerAddress)
        {
            Release(address);
            return null;
        }
        return new Lease(this, address);
    }

    private void Release(IPAddress? address)
    {
        Interlocked.Decrement(ref _total);
        if (address is null)
            return;
        while (_perAddress.TryGetValue(address, out var c))
        {
            if (c <= 1 ? _perAddress.TryRemove(new KeyValuePair<IPAddress, int>(address, c)) : _perAddress.TryUpdate(address, c - 1, c))
                break;
        }
    }

    private sealed class Lease(ConnectionLimiter owner, IPAddress? address) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                owner.Release(address);
        }
    }
}
