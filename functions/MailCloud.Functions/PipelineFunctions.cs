using MailCloud.Core;
using MailCloud.Pipeline;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace MailCloud.Functions;

/// <summary>
/// The pipeline's triggers: each a few lines over a plain pipeline class. A throw leaves the queue message for the
/// host to retry (after host.json's visibilityTimeout) and, after maxDequeueCount attempts, to move to
/// <c>{queue}-poison</c>. Stages write their own queues and tables (no output bindings): per-recipient idempotency
/// stays in our hands. The same methods run in Azure and, through the local driver, in <c>./mailcloud up</c>.
/// </summary>
public sealed class PipelineFunctions(InboundProcessor inbound, MailboxIndexer indexer, RemoteDeliverer deliverer, Housekeeping housekeeping, SpamLearner learner, ScheduledBackup backup, ILogger<PipelineFunctions> logger)
{
    public const string Connection = "AzureWebJobsStorage";

    [Function("inbound")]
    public async Task InboundAsync([QueueTrigger(StorageNames.InboundQueue, Connection = Connection)] string item, CancellationToken cancellationToken)
    {
        var r = await inbound.ProcessAsync(BinaryData.FromString(item), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("inbound: {Local} indexed, {Queued} queued for indexing, {Remote} remote, {Failed} failed, {Held} held{Loop}{Deferred}", r.Local, r.Queued, r.Remote, r.Failed, r.Quarantined,
            r.Loop ? " (loop)" : "", r.Deferred ? " (deferred: engine down)" : "");
    }

    /// <summary>A user's spam/ham judgement (a move into or out of Junk) taught to rspamd.</summary>
    [Function("learn")]
    public async Task LearnAsync([QueueTrigger(StorageNames.LearnQueue, Connection = Connection)] string item, CancellationToken cancellationToken)
    {
        await learner.LearnAsync(WorkItemJson.Parse<LearnWorkItem>(item), cancellationToken).ConfigureAwait(false);
    }

    [Function("index")]
    public async Task IndexAsync([QueueTrigger(StorageNames.IndexQueue, Connection = Connection)] string item, CancellationToken cancellationToken)
    {
        var work = WorkItemJson.Parse<IndexWorkItem>(item);
        var r = await indexer.IndexQueuedAsync(MailAddress.Parse(work.User), work, logger, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("index: {MessageId} -> {User}/{Folder} uid {Uid}{Again}", work.MessageId, work.User, work.Folder, r.Uid, r.AlreadyIndexed ? " (already indexed)" : "");
    }

    [Function("deliver")]
    public async Task DeliverAsync([QueueTrigger(StorageNames.OutboundQueue, Connection = Connection)] string item, CancellationToken cancellationToken)
    {
        var work = WorkItemJson.Parse<OutboundWorkItem>(item);
        var r = await deliverer.DeliverAsync(work, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("deliver: {MessageId} to {Domain}: {Delivered} delivered, {Deferred} deferred, {Failed} failed", work.MessageId, work.Domain, r.Delivered, r.Deferred, r.Failed);
    }

    /// <summary>Daily at 03:30 UTC: orphaned messages and expired envelopes.</summary>
    [Function("housekeeping")]
    public async Task HousekeepingAsync([TimerTrigger("0 30 3 * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        var r = await housekeeping.RunAsync(cancellationToken).ConfigureAwait(false);
        logger.LogInformation("housekeeping: {Deleted} deleted, {Kept} kept, {Envelopes} envelopes{Late}", r.MessagesDeleted, r.MessagesKept, r.EnvelopesDeleted, timer.IsPastDue ? " (past due)" : "");
    }

    /// <summary>
    /// The automatic backup on the app setting's schedule (MAILCLOUD_BACKUP_SCHEDULE, NCRONTAB with seconds; Bicep
    /// sets it, 02:00 UTC daily by default; <c>AzureWebJobs.backup.Disabled</c> turns it off in Azure).
    /// </summary>
    [Function("backup")]
    public async Task BackupAsync([TimerTrigger("%" + MailCloudSettings.BackupScheduleVariable + "%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        await backup.RunAsync(cancellationToken).ConfigureAwait(false);
    }
}
