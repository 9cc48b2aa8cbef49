using System.Net;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.Protocols;

/// <summary>What the mailbox front ends (IMAP, POP3) work with, made once per process and shared by its listeners.</summary>
public sealed record MailboxServices(IMailDirectory Directory, IMailboxStore Store, IMessageContent Messages, AuthThrottle Throttle, ConnectionLimiter Limiter)
{
    /// <summary>Where moves into and out of Junk are reported (the learn queue when an engine learns).</summary>
    public ISpamTraining Training { get; init; } = NoSpamTraining.Instance;

    /// <param name="cacheBytes">Memory for the per-host folder cache (<see cref="CachedMailboxStore"/>); 0 reads every folder from storage.</param>
    /// <param name="bodyCacheBytes">Memory for the per-host cache of small raw messages (<see cref="CachedMessageContent"/>); 0 reads every body from storage.</param>
    public static MailboxServices Create(StorageAccount account, TimeSpan directoryCacheTtl, int authMaxFailures, TimeSpan authFailureDelay, int maxConnections, int maxConnectionsPerAddress,
        long cacheBytes = 0, long bodyCacheBytes = 0) => new(
        new CachingMailDirectory(StorageProvisioner.Directory(account), directoryCacheTtl),
        cacheBytes > 0 ? new CachedMailboxStore(new MailboxStore(account), cacheBytes, indexes: new BlobFolderIndexSnapshots(account)) : new MailboxStore(account),
        bodyCacheBytes > 0 ? new CachedMessageContent(new BlobMessageContent(account), bodyCacheBytes) : new BlobMessageContent(account),
        new AuthThrottle(authMaxFailures, delayPerFailure: authFailureDelay),
        new ConnectionLimiter(maxConnections, maxConnectionsPerAddress));

    /// <summary>
    /// A protocol's two listeners from the settings: the plain one (with STARTTLS/STLS) and, when there is a
    /// certificate, the implicit-TLS one.
    /// </summary>
    public static IEnumerable<(string Name, IPEndPoint EndPoint, bool ImplicitTls)> Listeners(MailCloudSettings settings, bool hasCertificate, string plain, string implicitTls)
    {
        var bind = IPAddress.Parse(settings.BindAddress);
        foreach (var l in MailCloudSettings.Listeners)
        {
            if (l.Name == plain)
                yield return (l.Name, new IPEndPoint(bind, settings.Port(l)), false);
            else if (l.Name == implicitTls && hasCertificate)
                yield return (l.Name, new IPEndPoint(bind, settings.Port(l)), true);
        }
    }
}
