using System.Net.Http.Json;

namespace MailCloud.Core;

/// <summary>
/// A hint that a user's folder changed (the index stage added a message), so front ends can wake the IMAP sessions
/// idling on it at once instead of at their next poll. It carries no mail data: the sessions still read the change
/// from storage, and a hint that is lost costs only the poll interval.
/// </summary>
public interface IMailboxChangeNotifier
{
    Task MailboxChangedAsync(MailAddress user, string folder, CancellationToken cancellationToken = default);
}

/// <summary>No push: sessions find changes by polling.</summary>
public sealed class NoMailboxChangeNotifier : IMailboxChangeNotifier
{
    public static readonly NoMailboxChangeNotifier Instance = new();
    public Task MailboxChangedAsync(MailAddress user, string folder, CancellationToken cancellationToken = default) => Task.CompletedTask;
}

/// <summary>
/// The in-process channel: the functions and the front ends of one process (<c>./mailcloud up</c>), or the web host's
/// push endpoint and the IMAP host of one front-end replica.
/// </summary>
public sealed class MailboxChangeHub : IMailboxChangeNotifier
{
    private readonly Lock _gate = new();
    private Action<MailAddress, string>[] _listeners = [];

    /// <summary>Hints published so far (for tests and the benchmark).</summary>
    public long Published => Interlocked.Read(ref _published);
    private long _published;

    public IDisposable Subscribe(Action<MailAddress, string> listener)
    {
        lock (_gate)
            _listeners = [.. _listeners, listener];
        return new Unsubscriber(this, listener);
    }

    public void Publish(MailAddress user, string folder)
    {
        Interlocked.Increment(ref _published);
        foreach (var listener in Volatile.Read(ref _listeners))
            listener(user, folder);
    }

    public Task MailboxChangedAsync(MailAddress user, string folder, CancellationToken cancellationToken = default)
    {
        Publish(user, folder);
        return Task.CompletedTask;
    }

    private sealed class Unsubscriber(MailboxChangeHub hub, Action<MailAddress, string> listener) : IDisposable
    {
        public void Dispose()
        {
            lock (hub._gate)
                hub._listeners = hub._listeners.Where(l => l != listener).ToArray();
        }
    }
}

/// <summary>The body of a push request: which folder of which user changed.</summary>
public sealed record MailboxChangedHint(string User, string Folder);

/// <summary>
/// The channel in Azure: a POST to the front end's <c>/internal/mailbox-changed</c> (MAILCLOUD_PUSH_URL) with the shared
/// key (MAILCLOUD_PUSH_KEY) — one HTTP request per indexed message, no storage request, nothing to poll. Best effort:
/// a short timeout, and a failure is only counted (the front end's poll finds the change anyway).
/// </summary>
public sealed class HttpMailboxChangeNotifier(HttpClient http, Uri endpoint, string key) : IMailboxChangeNotifier
{
    public const string KeyHeader = "X-MailCloud-Push-Key";
    public const string Path = "/internal/mailbox-changed";

    /// <summary>Hints that could not be delivered.</summary>
    public long Failures => Interlocked.Read(ref _failures);
    private long _failures;

    /// <summary>The notifier MAILCLOUD_PUSH_URL and MAILCLOUD_PUSH_KEY describe, or none when they are unset.</summary>
    public static IMailboxChangeNotifier FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var url = environment("MAILCLOUD_PUSH_URL");
        var key = environment("MAILCLOUD_PUSH_KEY");
        if (string.IsNullOrWhiteSpace(url) || string.IsNullOrWhiteSpace(key))
            return NoMailboxChangeNotifier.Instance;
        return new HttpMailboxChangeNotifier(new HttpClient { Timeout = TimeSpan.FromSeconds(1) }, new Uri(url.Trim()), key.Trim());
    }

    public async Task MailboxChangedAsync(MailAddress user, string folder, CancellationToken cancellationToken = default)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = JsonContent.Create(new MailboxChangedHint(user.Address, folder)) };
            request.Headers.Add(KeyHeader, key);
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                Interlocked.Increment(ref _failures);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _failures);
        }
    }
}
