using System.Text.Json;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.Pipeline;

public sealed record IndexResult(long Uid, long UidValidity, bool AlreadyIndexed);

/// <summary>
/// The index stage's view of <see cref="MailboxWriter"/>: one delivered message into one user's folder (created when
/// missing), with the filter's verdict stored beside the summary. A repeated work item adds nothing. A new message
/// is announced to the front ends (<see cref="IMailboxChangeNotifier"/>) so IDLE sessions see it without polling.
/// Concurrent deliveries to one folder are committed together (<see cref="GroupedMailboxAdds"/>) instead of racing
/// for its row.
/// </summary>
public sealed class MailboxIndexer(MailboxWriter writer, IMailboxChangeNotifier? changes = null, MessageTraceStore? traces = null)
{
    private readonly GroupedMailboxAdds _adds = new(writer);
    private readonly IMailboxChangeNotifier _changes = changes ?? NoMailboxChangeNotifier.Instance;

    public MailboxIndexer(StorageAccount account, TimeProvider? time = null, IMailboxChangeNotifier? changes = null) : this(new MailboxStore(account, time).Writer, changes, new MessageTraceStore(account))
    {
    }

    /// <summary>An item from the "index" queue: indexed, then traced (an inline index is traced by the inbound stage with the rest).</summary>
    public async Task<IndexResult> IndexQueuedAsync(MailAddress user, IndexWorkItem item, Microsoft.Extensions.Logging.ILogger logger, CancellationToken cancellationToken)
    {
        if (traces is null)
            return await IndexAsync(user, item, cancellationToken).ConfigureAwait(false);
        var trace = new TraceLog(traces, item.MessageId, logger);
        return await trace.RunAsync("index stage", async () =>
        {
            var result = await IndexAsync(user, item, cancellationToken).ConfigureAwait(false);
            trace.Add(TraceStage.Indexed, Describe(user, item.Folder, result));
            return result;
        }, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public static string Describe(MailAddress user, string folder, IndexResult result) =>
        $"{user}/{folder} uid {result.Uid}" + (result.AlreadyIndexed ? " (already there: a repeated work item)" : string.Empty);

    public async Task<IndexResult> IndexAsync(MailAddress user, IndexWorkItem item, CancellationToken cancellationToken)
    {
        var entry = MailboxWriter.Entry(item.MessageId, item.MessageBlob, item.Size, item.ReceivedAt, string.Empty, item.Summary,
            item.Verdict.Spam, JsonSerializer.Serialize(item.Verdict, WorkItemJson.Options), item.Prefix) with { ResendKey = item.ResendKey };
        var added = await _adds.AddAsync(user, item.Folder, entry, createFolder: true, cancellationToken).ConfigureAwait(false);
        if (!added.AlreadyThere)
            await _changes.MailboxChangedAsync(user, item.Folder, cancellationToken).ConfigureAwait(false);
        return new IndexResult(added.Uid, added.UidValidity, added.AlreadyThere);
    }
}
