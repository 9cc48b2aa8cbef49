using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;

namespace MailCloud.Pipeline;

/// <summary>
/// What one stage run did with one message, collected as it happens and written once at the end of the run
/// (one table transaction). Best effort: a trace that cannot be stored is logged and dropped, never the reason a
/// stage fails and repeats its real work.
/// </summary>
public sealed class TraceLog(MessageTraceStore store, string messageId, ILogger logger, TimeProvider? time = null)
{
    private readonly List<(DateTimeOffset At, TraceStage Stage, string Text)> _events = [];
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public string MessageId => messageId;

    public void Add(TraceStage stage, string text, DateTimeOffset? at = null) => _events.Add((at ?? _time.GetUtcNow(), stage, text));

    public async Task FlushAsync(IEnumerable<string>? addresses = null, CancellationToken cancellationToken = default)
    {
        if (_events.Count == 0)
            return;
        try
        {
            await store.RecordAsync(messageId, _events, addresses, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StorageErrors.IsStorageFailure(e))
        {
            logger.LogWarning("{MessageId}: trace not stored ({Error})", messageId, e.Message);
        }
        _events.Clear();
    }

    /// <summary>
    /// Runs one stage for the message and writes its events after it; a stage that throws has the error traced
    /// before the exception goes on to the queue's retry.
    /// </summary>
    public async Task<T> RunAsync<T>(string stage, Func<Task<T>> run, Func<T, IEnumerable<string>?>? addresses = null, CancellationToken cancellationToken = default)
    {
        T result;
        try
        {
            result = await run().ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            Add(TraceStage.Error, $"{stage} failed ({e.GetType().Name}: {e.Message}); the work item stays queued for a retry");
            await FlushAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        await FlushAsync(addresses?.Invoke(result), cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>A list for one trace line: the first <paramref name="max"/> items and how many more there are.</summary>
    public static string Few(IEnumerable<string> items, int max = 10)
    {
        var list = items.ToList();
        return list.Count <= max ? string.Join(", ", list) : string.Join(", ", list.Take(max)) + $" and {list.Count - max} more";
    }

    /// <summary>The accepting session as one line: listener, client, TLS, authentication, sender, recipients, size.</summary>
    public static string Accepted(Envelope envelope, long size)
    {
        var rcpts = Few(envelope.Recipients.Select(r => r.Address), 5);
        var tls = envelope.Tls is { } t ? $"{t.Protocol} {t.CipherSuite}" : "no TLS";
        var auth = envelope.AuthenticatedUser is { } u ? $", authenticated as {u}" : string.Empty;
        return $"{envelope.Listener} from {envelope.ClientAddress} (HELO {envelope.Helo}), {tls}{auth}: <{envelope.Sender}> to {rcpts}; {size} bytes";
    }

    /// <summary>The filter's verdict as one line.</summary>
    public static string Verdict(Verdict v)
    {
        var engine = v.EngineAction is null ? v.Engine : $"{v.Engine}: {v.EngineAction}";
        var symbols = v.Symbols.Count > 0 ? " " + string.Join(" ", v.Symbols.Take(6)) : string.Empty;
        var virus = v.Virus is { } name ? $"virus {name}" : $"virus scan {v.VirusScan ?? "off"}";
        var notes = v.Notes.Count > 0 ? "; " + string.Join("; ", v.Notes) : string.Empty;
        return $"{(v.Spam ? "spam" : "not spam")}, score {v.SpamScore:0.0} ({engine}){symbols}; {v.AuthenticationResults}; {virus}{(v.Unscanned ? " (delivered unscanned: engine down)" : "")}{notes}";
    }
}
