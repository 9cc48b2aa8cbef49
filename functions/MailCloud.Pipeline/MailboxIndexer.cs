using System.Text.Json;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.Pipeline;

public sealed record IndexResult(long Uid, long UidValidity, bool AlreadyIndexed);

/// <summary>
/// The index stage's view of <see cref="MailboxWriter"/>: one delivered message into one user's folder (created when
/// missing), with the filter's verdict stored beside the summary. A repeated work item adds nothing.
/// </summary>
public sealed class MailboxIndexer(MailboxWriter writer)
{
    private readonly MailboxWriter _writer = writer;

    public MailboxIndexer(StorageAccount account, TimeProvider? time = null) : this(new MailboxStore(account, time).Writer)
    {
    }

    public async Task<IndexResult> IndexAsync(MailAddress user, IndexWorkItem item, CancellationToken cancellationToken)
    {
        var entry = MailboxWriter.Entry(item.MessageId, item.MessageBlob, item.Size, item.ReceivedAt, string.Empty, item.Summary,
            item.Verdict.Spam, JsonSerializer.Serialize(item.Verdict, WorkItemJson.Options));
        var added = (await _writer.AddAsync(user, item.Folder, [entry], createFolder: true, cancellationToken).ConfigureAwait(false))[0];
        return new IndexResult(added.Uid, added.UidValidity, added.AlreadyThere);
    }
}
