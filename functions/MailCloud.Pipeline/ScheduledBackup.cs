using MailCloud.Data;
using Microsoft.Extensions.Logging;

namespace MailCloud.Pipeline;

/// <summary>The timer stage's backup: one stored set (incremental for messages), then the retention's prune.</summary>
public sealed class ScheduledBackup(StoredBackups backups, BackupRetention retention, ILogger logger, TimeProvider? time = null)
{
    public async Task<(BackupSetInfo Set, PruneResult Pruned)> RunAsync(CancellationToken cancellationToken)
    {
        var result = await backups.RunAsync(retention, (time ?? TimeProvider.System).GetUtcNow(), cancellationToken).ConfigureAwait(false);
        var (set, pruned) = result;
        logger.LogInformation("backup {Id}: {Entities} table rows, {Messages} messages ({Written} new, {Bytes} bytes); pruned {Sets} set(s) and {Orphans} message(s) no kept set needs",
            set.Id, set.Entities, set.Messages, set.MessagesWritten, set.MessageBytesWritten, pruned.SetsDeleted, pruned.MessagesDeleted);
        return result;
    }
}
