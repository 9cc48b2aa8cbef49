using System.Net;
using MailCloud.Data;
using MailCloud.Protocols;

namespace MailCloud.Imap;

public sealed record ImapListener(string Name, IPEndPoint EndPoint, bool ImplicitTls);

public sealed class ImapServerOptions
{
    public string HostName { get; set; } = "localhost";
    public List<ImapListener> Listeners { get; } = [];
    public ServerCertificate? Certificate { get; set; }

    /// <summary>RFC 9051 5.4: at least 30 minutes of inactivity before an authenticated session may be closed.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Before login, idle clients are dropped sooner.</summary>
    public TimeSpan LoginTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often folders with IDLE sessions are checked for changes made elsewhere (deliveries, other hosts).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Memory for the folder cache all sessions of this host share (MAILCLOUD_IMAP_CACHE, default 256 MiB, <c>off</c>):
    /// message lists and summaries, so SELECT, FETCH of summaries and SEARCH do not re-read unchanged folders.
    /// </summary>
    public long CacheBytes { get; set; } = CachedMailboxStore.DefaultBudget;

    /// <summary>
    /// Memory for the cache of small raw messages (up to 256 KiB each) this host wrote or read whole
    /// (MAILCLOUD_IMAP_BODY_CACHE, default 32 MiB, <c>off</c>): a message fetched again, or in parts, costs no blob read.
    /// </summary>
    public long BodyCacheBytes { get; set; } = CachedMessageContent.DefaultBudget;

    /// <summary>
    /// Report moves into and out of Junk to the learn queue (on when MAILCLOUD_RSPAMD_URL is set: only rspamd learns).
    /// </summary>
    public bool LearnSpam { get; set; }

    /// <summary>Largest APPEND literal (same default as SMTP's SIZE).</summary>
    public long MaxMessageSize { get; set; } = 50L * 1024 * 1024;

    /// <summary>Largest literal before login (a LOGIN password or a SASL response, never a message).</summary>
    public long MaxLiteralBeforeLogin { get; set; } = 8 * 1024;
    public int MaxLineLength { get; set; } = 64 * 1024;
    public int MaxErrors { get; set; } = 20;
    public int MaxConnections { get; set; } = 5000;
    public int MaxConnectionsPerAddress { get; set; } = 50;
    public int AuthMaxFailures { get; set; } = 10;
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan DirectoryCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Allow LOGIN and AUTHENTICATE without TLS (never in production).</summary>
    public bool AllowPlainWithoutTls { get; set; }
}
