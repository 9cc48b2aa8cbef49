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
/// </summary>
public sealed class MailboxIndexer(MailboxWriter writer, IMailboxChangeNotifier? changes = null)
{
    private readonly MailboxWriter _writer = writer;
    private readonly IMailboxChangeNotifier _changes = changes ?? NoMailboxChangeNotifier.Instance;

    public MailboxIndexer(StorageAccount account, TimeProvider? time = null, IMailboxChangeNotifier? changes = null) : this(new MailboxStore(account, time).Writer, changes)
    {
    }

    public async Task<IndexResult> IndexAsync(MailAddress user, IndexWorkItem item, CancellationToken cancellationToken)
    {
        var entry = MailboxWriter.Entry(item.MessageId, item.MessageBlob, item.Size, item.ReceivedAt, string.Empty, item.Summary,
            item.Verdict.Spam, JsonSerializer.Serialize(item.Verdict, WorkItemJson.Options), item.Prefix) with { ResendKey = item.ResendKey };
        var added = (await _writer.AddAsync(user, item.Folder, [entry], createFolder: true, cancellationToken).ConfigureAwait(false))[0];
        if (!added.AlreadyThere)
            await _changes.MailboxChangedAsync(user, item.Folder, cancellationToken).ConfigureAwait(false);
        return new IndexResult(added.Uid, added.UidValidity, added.AlreadyThere);
    }
}
