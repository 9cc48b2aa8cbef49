using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using MailCloud.Storage;

namespace MailCloud.Webmail;

/// <summary>Limits and names the webmail works with.</summary>
public sealed record WebmailOptions
{
    /// <summary>The host name in Message-IDs and the Received line of sent mail.</summary>
    public required string HostName { get; init; }

    /// <summary>The SMTP submission limit: a composed message (attachments included) may not be larger.</summary>
    public long MaxMessageSize { get; init; } = 50L * 1024 * 1024;

    public int MaxRecipients { get; init; } = 100;
    public int PageSize { get; init; } = 50;

    /// <summary>How long a sign-in lasts without activity (sliding).</summary>
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromHours(8);

    /// <summary>How often an open page checks its folders when no change notification came (changes made on other hosts).</summary>
    public TimeSpan EventPoll { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Body search reads message bytes; it looks at no more than this many of the newest candidates.</summary>
    public int MaxBodySearch { get; init; } = 500;
}

/// <summary>
/// What the webmail reads and writes: the same directory, mailbox store and message blobs as IMAP, the inbound
/// spool SMTP submission writes to (so sending takes the queue, DKIM signing and remote delivery), the change hub
/// IMAP IDLE listens on, and the login throttle shared with IMAP, POP3 and SMTP AUTH.
/// </summary>
public sealed record WebmailServices(
    IMailDirectory Directory,
    IMailboxStore Store,
    IMessageContent Content,
    IMessageSpool Spool,
    AuthThrottle Throttle,
    MailboxChangeHub Changes,
    UserPreferencesStore Preferences,
    UploadStore Uploads,
    WebmailOptions Options)
{
    /// <summary>Where the cookie and antiforgery keys live (shared storage in a real deployment; null keeps ASP.NET's default, for tests).</summary>
    public Microsoft.AspNetCore.DataProtection.Repositories.IXmlRepository? KeyRing { get; init; }

    public ISpamTraining Training { get; init; } = NoSpamTraining.Instance;

    public static WebmailServices Create(StorageAccount account, IMailDirectory directory, AuthThrottle throttle, MailboxChangeHub changes, WebmailOptions options, bool learnSpam = false) => new(
        directory,
        new CachedMailboxStore(new MailboxStore(account), 64L << 20, indexes: new BlobFolderIndexSnapshots(account)),
        new BlobMessageContent(account),
        new StorageMessageSpool(account),
        throttle,
        changes,
        new UserPreferencesStore(account),
        new UploadStore(account),
        options)
    {
        Training = learnSpam ? new QueueSpamTraining(account) : NoSpamTraining.Instance,
        KeyRing = BlobKeyRepository.For(account),
    };
}
