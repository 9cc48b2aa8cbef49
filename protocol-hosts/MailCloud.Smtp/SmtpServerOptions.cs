using System.Net;
using MailCloud.Protocols;

namespace MailCloud.Smtp;

public enum SmtpListenerRole
{
    /// <summary>Inbound MX: mail for hosted domains; relaying only for authenticated sessions.</summary>
    Mx,

    /// <summary>Submission (587/465): AUTH before MAIL, relaying allowed, sender must belong to the user.</summary>
    Submission,
}

/// <summary>One listening socket and what it is for.</summary>
public sealed record SmtpListener(string Name, IPEndPoint EndPoint, SmtpListenerRole Role, bool ImplicitTls);

public sealed class SmtpServerOptions
{
    /// <summary>Name in the greeting, EHLO reply and Received headers.</summary>
    public string HostName { get; set; } = "localhost";

    public List<SmtpListener> Listeners { get; } = [];

    /// <summary>Certificate for STARTTLS and implicit TLS; without one STARTTLS is not offered.</summary>
    public ServerCertificate? Certificate { get; set; }

    public long MaxMessageSize { get; set; } = 50L * 1024 * 1024;
    public int MaxRecipients { get; set; } = 100;

    /// <summary>Command lines longer than this get 500 5.5.2 (RFC 5321 requires at least 512).</summary>
    public int MaxCommandLength { get; set; } = 4096;

    /// <summary>RFC 5321 4.5.3.2: at least 5 minutes waiting for a command, 10 for data blocks.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Bytes per second message data must average to keep a DATA or BDAT going past <see cref="DataTimeout"/> (Postfix's default).</summary>
    public int MinDataRate { get; set; } = 500;

    /// <summary>Errors (5xx replies, failed AUTH) before the server says 421 and hangs up.</summary>
    public int MaxErrors { get; set; } = 10;

    public int MaxConnections { get; set; } = 1000;
    public int MaxConnectionsPerAddress { get; set; } = 20;

    /// <summary>
    /// How long the MX listener waits before its greeting; a client that talks during the wait is an early talker
    /// (typical of spam bots) and is refused with 554. Zero disables the check.
    /// </summary>
    public TimeSpan MxGreetingDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long an MX client that waited for the greeting is greeted at once afterwards (MAILCLOUD_SMTP_GREETING_PASS; zero: always pause).</summary>
    public TimeSpan GreetingPassTtl { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Client networks never paused (MAILCLOUD_SMTP_TRUSTED_NETWORKS, e.g. 10.0.0.0/8,2001:db8::/32): your own relays.</summary>
    public List<System.Net.IPNetwork> TrustedNetworks { get; } = [];

    /// <summary>Failed logins from one address within 15 minutes before it is refused; each failure also adds this much delay.</summary>
    public int AuthMaxFailures { get; set; } = 10;
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long recipient and login lookups are cached by this front end.</summary>
    public TimeSpan DirectoryCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Offer AUTH on connections without TLS (never in production; tests of plain text only).</summary>
    public bool AllowAuthWithoutTls { get; set; }
}
