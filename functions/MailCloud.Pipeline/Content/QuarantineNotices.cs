using System.Globalization;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Mime;

namespace MailCloud.Pipeline;

/// <summary>
/// The short note a local recipient gets in place of a held message: who sent what, why it was held, and its
/// quarantine id to quote to the administrator. Nothing of the message's content is in it — only the envelope and
/// the From/Subject/Date header values as plain text. One note per message and user, whatever retries happen.
/// </summary>
public sealed class QuarantineNotices(IMessageContent messages, MailboxIndexer indexer, string hostName)
{
    public async Task DeliverAsync(MailAddress user, InboundWorkItem item, Envelope envelope, MimeEntity message, string reason, CancellationToken cancellationToken)
    {
        var id = item.MessageId + "-notice";
        var bytes = Build(user, item.MessageId, envelope, message, reason, hostName);
        var blob = MessageIds.BlobPath(id, envelope.ReceivedAt);
        try
        {
            await messages.WriteAsync(blob, bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (Azure.RequestFailedException e) when (e.Status is 409 or 412)
        {
            // Written by an earlier attempt: the one already there is indexed below (indexing de-duplicates).
            bytes = await messages.ReadAllAsync(blob, cancellationToken).ConfigureAwait(false);
        }
        var parsed = MimeParser.Parse(bytes);
        await indexer.IndexAsync(user, new IndexWorkItem
        {
            MessageId = id,
            MessageBlob = blob,
            Size = bytes.Length,
            User = user.Address,
            Folder = "INBOX",
            ReceivedAt = envelope.ReceivedAt,
            Verdict = new Verdict(),
            Summary = MessageSummary.Of(parsed),
        }, cancellationToken).ConfigureAwait(false);
    }

    internal static byte[] Build(MailAddress user, string quarantineId, Envelope envelope, MimeEntity message, string reason, string hostName)
    {
        static string Plain(string? value) => value is null ? "(none)" : new string(value.Where(c => !char.IsControl(c)).ToArray()).Trim();
        var body = new StringBuilder()
            .Append("A message addressed to you was not delivered because ").Append(reason).Append(".\r\n")
            .Append("It is held in quarantine; nothing of its content is included here.\r\n\r\n")
            .Append("  Envelope sender: ").Append(envelope.Sender.Length == 0 ? "<>" : envelope.Sender).Append("\r\n")
            .Append("  From:            ").Append(Plain(message.GetHeader("From")?.Value)).Append("\r\n")
            .Append("  Subject:         ").Append(Plain(message.Subject)).Append("\r\n")
            .Append("  Received:        ").Append(envelope.ReceivedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)).Append("\r\n")
            .Append("  Quarantine id:   ").Append(quarantineId).Append("\r\n\r\n")
            .Append("If you expected this message, ask your mail administrator to check it and release it.\r\n");
        var header = new StringBuilder()
            .Append("From: MailCloud <postmaster@").Append(hostName).Append(">\r\n")
            .Append("To: ").Append(user.Address).Append("\r\n")
            .Append("Subject: Message held in quarantine\r\n")
            .Append("Date: ").Append(envelope.ReceivedAt.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture)).Append("\r\n")
            .Append("Message-ID: <").Append(quarantineId).Append(".notice@").Append(hostName).Append(">\r\n")
            .Append("Auto-Submitted: auto-generated\r\n")
            .Append("MIME-Version: 1.0\r\n")
            .Append("Content-Type: text/plain; charset=utf-8\r\n")
            .Append("Content-Transfer-Encoding: 8bit\r\n\r\n");
        return Encoding.UTF8.GetBytes(header.ToString() + body);
    }
}
