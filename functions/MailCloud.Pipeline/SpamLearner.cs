using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Filtering;
using Microsoft.Extensions.Logging;

namespace MailCloud.Pipeline;

/// <summary>
/// The learn stage (queue "learn"): a user moved a message into Junk (spam) or out of it (ham); rspamd's classifier
/// learns the raw message from its blob. Without rspamd there is nothing to teach and the item is dropped. A message
/// deleted meanwhile is skipped; an unreachable controller throws (the queue retries, then learn-poison).
/// </summary>
public sealed class SpamLearner(RspamdClient? rspamd, IMessageContent messages, ILogger logger)
{
    public async Task<bool> LearnAsync(LearnWorkItem item, CancellationToken cancellationToken)
    {
        if (rspamd?.Controller is null)
        {
            logger.LogInformation("learn: no rspamd controller configured; {Kind} report for {User} dropped", item.Spam ? "spam" : "ham", item.User);
            return false;
        }
        byte[] bytes;
        try
        {
            // The controller wants the length up front; messages are bounded by the SMTP size limit.
            bytes = await messages.ReadAllAsync(item.MessageBlob, cancellationToken).ConfigureAwait(false);
        }
        catch (Azure.RequestFailedException e) when (e.Status == 404)
        {
            logger.LogInformation("learn: {Blob} is gone; nothing to learn", item.MessageBlob);
            return false;
        }
        var learned = await rspamd.LearnAsync(new MemoryStream(bytes), bytes.Length, item.Spam, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("learn: {Blob} as {Kind} for {User}{Again}", item.MessageBlob, item.Spam ? "spam" : "ham", item.User, learned ? string.Empty : " (already learned)");
        return learned;
    }
}
