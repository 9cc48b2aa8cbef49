using System.Net;
using MailCloud.Protocols;

namespace MailCloud.Pop3;

public sealed record Pop3Listener(string Name, IPEndPoint EndPoint, bool ImplicitTls);

public sealed class Pop3ServerOptions
{
    public string HostName { get; set; } = "localhost";
    public List<Pop3Listener> Listeners { get; } = [];
    public ServerCertificate? Certificate { get; set; }

    /// <summary>RFC 1939: at least 10 minutes of inactivity before the server may close.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a connection may take from its greeting to a successful login, however it dribbles bytes.</summary>
    public TimeSpan LoginTimeout { get; set; } = TimeSpan.FromMinutes(2);
    public int MaxErrors { get; set; } = 10;
    public int MaxConnections { get; set; } = 1000;
    public int MaxConnectionsPerAddress { get; set; } = 20;
    public int AuthMaxFailures { get; set; } = 10;
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan DirectoryCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Allow USER/PASS and AUTH without TLS (never in production).</summary>
    public bool AllowPlainWithoutTls { get; set; }
}
