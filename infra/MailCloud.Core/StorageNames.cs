namespace MailCloud.Core;

/// <summary>
/// Names of the containers, queues and tables every part of MailCloud agrees on (hosts, functions, CLI, Bicep).
/// </summary>
public static class StorageNames
{
    /// <summary>Raw messages: <c>messages/yyyy/MM/dd/&lt;id&gt;.eml</c>, the source of truth.</summary>
    public const string MessagesContainer = "messages";

    /// <summary>Envelopes and other small per-message documents written at accept time.</summary>
    public const string EnvelopesContainer = "envelopes";

    public const string InboundQueue = "inbound";
    public const string IndexQueue = "index";
    public const string OutboundQueue = "outbound";

    /// <summary>Spam/ham training requests from the front ends (a user moved a message into or out of Junk).</summary>
    public const string LearnQueue = "learn";

    /// <summary>Where the Functions host (and our local driver) moves messages that failed too often.</summary>
    public const string PoisonSuffix = "-poison";

    public static string Poison(string queue) => queue + PoisonSuffix;

    /// <summary>Domains, users, aliases: partition = domain.</summary>
    public const string DirectoryTable = "directory";

    /// <summary>Mailbox index (UIDs, flags, summaries): partition = mailbox.</summary>
    public const string MailboxTable = "mailboxes";

    /// <summary>Which mailbox entries point at a raw message blob: partition = blob name, one row per entry.</summary>
    public const string BlobRefsTable = "blobrefs";

    /// <summary>Remote recipients already delivered, per outbound work item key: a repeated item never sends twice.</summary>
    public const string DeliveriesTable = "deliveries";

    /// <summary>Messages held back (virus found, spam over the quarantine threshold): partition "q", row = message id.</summary>
    public const string QuarantineTable = "quarantine";

    /// <summary>Webmail attachments uploaded in chunks before the message that carries them is sent (cleared after a day by housekeeping).</summary>
    public const string UploadsContainer = "uploads";

    /// <summary>Per-user webmail settings (signature, senders whose remote images are shown): partition = user, one row.</summary>
    public const string PreferencesTable = "preferences";

    /// <summary>The web front end's data-protection key ring (signs sign-in cookies and antiforgery tokens), shared by every replica.</summary>
    public const string WebKeysContainer = "webkeys";

    /// <summary>Automatic backup sets and the messages they share (created by the first backup; MAILCLOUD_BACKUP_CONTAINER renames it).</summary>
    public const string BackupsContainer = "backups";

    /// <summary>Message trace: what each stage did with a message (partition = day|id), and an index by address; cleaned by housekeeping.</summary>
    public const string TraceTable = "trace";

    /// <summary>
    /// Large folders' message lists and summaries as IMAP hosts last held them (one blob per user, folder and
    /// UIDVALIDITY): a host opens such a folder from it instead of reading every row. A cache; not backed up.
    /// </summary>
    public const string FolderIndexContainer = "folderindex";

    public static IReadOnlyList<string> Containers { get; } = [MessagesContainer, EnvelopesContainer, UploadsContainer, WebKeysContainer, FolderIndexContainer];
    public static IReadOnlyList<string> Queues { get; } = [InboundQueue, Poison(InboundQueue), IndexQueue, Poison(IndexQueue), OutboundQueue, Poison(OutboundQueue), LearnQueue, Poison(LearnQueue)];
    public static IReadOnlyList<string> Tables { get; } = [DirectoryTable, MailboxTable, BlobRefsTable, DeliveriesTable, QuarantineTable, PreferencesTable, TraceTable];
}
