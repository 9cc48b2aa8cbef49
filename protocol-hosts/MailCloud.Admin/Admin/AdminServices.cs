using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Dns;
using MailCloud.Protocols;
using MailCloud.Storage;

namespace MailCloud.Admin;

/// <summary>
/// What the admin UI works with: the directory, mailbox usage, the queues (as <c>./mailcloud queue</c> sees them), the
/// message trace, the quarantine, the backup sets, a
/// DNS resolver for the domain check, and the login throttle the mail protocols share. Signing in takes the admin
/// token, checked against its configured SHA-256 (the token itself is stored nowhere; null: no token sign-in), or
/// the password of a user flagged as an administrator.
/// </summary>
public sealed record AdminServices(
    StorageAccount Account,
    IMailDirectory Directory,
    IMailboxStore Mailboxes,
    QueueInspector Queues,
    MessageTraceStore Traces,
    QuarantineStore Quarantine,
    StoredBackups Backups,
    DnsResolver Dns,
    AuthThrottle Throttle,
    string? TokenSha256,
    string HostName)
{
    public static AdminServices Create(StorageAccount account, IMailDirectory directory, AuthThrottle throttle, string? tokenSha256, string hostName, DnsResolver? dns = null, StoredBackups? backups = null) =>
        new(account, directory, new MailboxStore(account), new QueueInspector(account), new MessageTraceStore(account), new QuarantineStore(account),
            backups ?? StoredBackups.FromSettings(account, new MailCloudSettings()), dns ?? DnsResolver.FromEnvironment(), throttle, tokenSha256, hostName);
}
