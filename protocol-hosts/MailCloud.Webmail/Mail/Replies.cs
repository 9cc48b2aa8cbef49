using System.Globalization;
using System.Text;
using MailCloud.Core;
using MimeKit;

namespace MailCloud.Webmail;

public enum ComposeMode { New, Reply, ReplyAll, Forward, ForwardAttached, Draft }

/// <summary>The compose form filled in for a reply, reply-all, forward or a reopened draft.</summary>
public static class Replies
{
    public static Composition For(ComposeMode mode, MimeMessage original, string folder, long uid, MailAddress me, IReadOnlyList<MailAddress> mine, string signature)
    {
        var sig = string.IsNullOrWhiteSpace(signature) ? string.Empty : "\n\n-- \n" + signature.TrimEnd();
        if (mode == ComposeMode.Draft)
            return Reopen(original, folder, uid);
        var subject = original.Subject ?? string.Empty;
        var references = string.Join(' ', original.References.Append(original.MessageId).Where(id => !string.IsNullOrEmpty(id)).Select(id => $"<{id}>"));
        var (from, _) = FromAddress(original, mine, me);
        if (mode is ComposeMode.Reply or ComposeMode.ReplyAll)
        {
            var replyTo = original.ReplyTo.Mailboxes.Any() ? original.ReplyTo.Mailboxes : original.From.Mailboxes;
            bool own(MailboxAddress m) => mine.Any(a => a.Address.Equals(m.Address, StringComparison.OrdinalIgnoreCase));
            var to = replyTo.ToList();
            var cc = new List<MailboxAddress>();
            if (mode == ComposeMode.ReplyAll)
            {
                to.AddRange(original.To.Mailboxes.Where(m => !own(m)));
                cc.AddRange(original.Cc.Mailboxes.Where(m => !own(m)));
            }
            if (to.Count > 1)
                to = to.Where(m => !own(m)).ToList();
            to = to.DistinctBy(m => m.Address.ToLowerInvariant()).ToList();
            cc = cc.Where(m => !to.Any(t => t.Address.Equals(m.Address, StringComparison.OrdinalIgnoreCase))).DistinctBy(m => m.Address.ToLowerInvariant()).ToList();
            var when = original.Date == DateTimeOffset.MinValue ? null : original.Date.ToString("ddd, d MMM yyyy HH:mm", CultureInfo.InvariantCulture);
            var quoted = string.Join('\n', (original.TextBody ?? MessageText.Of(Composer.Bytes(original))).Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd().Split('\n').Select(l => "> " + l));
            return new Composition
            {
                From = from,
                To = string.Join(", ", to.Select(Format)),
                Cc = string.Join(", ", cc.Select(Format)),
                Subject = HasPrefix(subject, "re") ? subject : "Re: " + subject,
                Text = $"{sig}\n\n{(when is null ? string.Empty : $"On {when}, ")}{Format(original.From.Mailboxes.FirstOrDefault()) ?? "someone"} wrote:\n{quoted}\n",
                InReplyTo = original.MessageId is { } id ? $"<{id}>" : null,
                References = references,
                OriginalFolder = folder,
                OriginalUid = uid,
            };
        }
        var forward = new Composition
        {
            From = from,
            Subject = HasPrefix(subject, "fwd") || HasPrefix(subject, "fw") ? subject : "Fwd: " + subject,
            References = references,
            OriginalFolder = folder,
            OriginalUid = uid,
            IsForward = true,
        };
        if (mode == ComposeMode.ForwardAttached)
            return forward with { Text = sig, AttachFolder = folder, AttachUid = uid };
        var header = new StringBuilder("\n\n---------- Forwarded message ----------\n")
            .Append("From: ").Append(string.Join(", ", original.From.Mailboxes.Select(Format))).Append('\n');
        if (original.Date != DateTimeOffset.MinValue)
            header.Append("Date: ").Append(original.Date.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        header.Append("Subject: ").Append(subject).Append('\n')
            .Append("To: ").Append(string.Join(", ", original.To.Mailboxes.Select(Format))).Append("\n\n");
        var parts = original.BodyParts.Select((p, i) => (p, i)).Where(x => x.p.IsAttachment || x.p is MessagePart).Select(x => x.i).ToList();
        return forward with
        {
            Text = sig + header + (original.TextBody ?? MessageText.Of(Composer.Bytes(original))).Replace("\r\n", "\n", StringComparison.Ordinal),
            SourceFolder = folder,
            SourceUid = uid,
            SourceParts = parts,
        };
    }

    private static Composition Reopen(MimeMessage draft, string folder, long uid) => new()
    {
        From = draft.From.Mailboxes.FirstOrDefault()?.Address ?? string.Empty,
        To = string.Join(", ", draft.To.Mailboxes.Select(Format)),
        Cc = string.Join(", ", draft.Cc.Mailboxes.Select(Format)),
        Bcc = string.Join(", ", draft.Bcc.Mailboxes.Select(Format)),
        Subject = draft.Subject ?? string.Empty,
        Text = (draft.TextBody ?? string.Empty).Replace("\r\n", "\n", StringComparison.Ordinal),
        Html = draft.HtmlBody is { } html ? BodyOf(html) : null,
        InReplyTo = draft.InReplyTo is { } r ? $"<{r}>" : null,
        References = string.Join(' ', draft.References.Select(id => $"<{id}>")),
        SourceFolder = folder,
        SourceUid = uid,
        SourceParts = AttachmentParts(draft).Select(a => a.Index).ToList(),
        DraftUid = uid,
    };

    /// <summary>The parts of a message a composition carries over as attachments (numbered as <see cref="MessageRenderer.Part"/> counts).</summary>
    public static IReadOnlyList<AttachmentInfo> AttachmentParts(MimeMessage message)
    {
        var all = MessageRenderer.Render(Composer.Bytes(message), string.Empty).Attachments;
        var attached = message.BodyParts.Select((p, i) => (p, i)).Where(x => x.p.IsAttachment).Select(x => x.i).ToHashSet();
        return all.Where(a => attached.Contains(a.Index)).ToList();
    }

    private static string BodyOf(string html)
    {
        var start = html.IndexOf("<body>", StringComparison.OrdinalIgnoreCase);
        var end = html.LastIndexOf("</body>", StringComparison.OrdinalIgnoreCase);
        return start >= 0 && end > start ? html[(start + 6)..end] : html;
    }

    /// <summary>Answer from the address the message came to when it is one of the user's, else from the user's own.</summary>
    private static (string Text, MailAddress Address) FromAddress(MimeMessage original, IReadOnlyList<MailAddress> mine, MailAddress me)
    {
        foreach (var m in original.To.Mailboxes.Concat(original.Cc.Mailboxes))
        {
            if (mine.FirstOrDefault(a => a.Address.Equals(m.Address, StringComparison.OrdinalIgnoreCase)) is { } hit)
                return (hit.Address, hit);
        }
        return (me.Address, me);
    }

    /// <summary>An address as a person types it: <c>Name &lt;addr&gt;</c>, quoting the name only when it needs it.</summary>
    public static string? Format(MailboxAddress? m) => m is null ? null
        : string.IsNullOrWhiteSpace(m.Name) ? m.Address
        : System.Text.RegularExpressions.Regex.IsMatch(m.Name, @"^[\p{L}\p{N} .'-]+$") ? $"{m.Name} <{m.Address}>"
        : m.ToString();

    private static bool HasPrefix(string subject, string prefix) => subject.TrimStart().StartsWith(prefix + ":", StringComparison.OrdinalIgnoreCase);
}
