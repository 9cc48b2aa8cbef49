using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace MailCloud.Protocols;

/// <summary>
/// The TLS certificate the front ends hand to each new handshake. From a file (MAILCLOUD_TLS_CERT: a PFX, the
/// base64 text of one as Key Vault and a Container Apps secret volume hold it, or PEM with the key) it is re-read
/// when the file changes, so a renewed certificate is used by new connections without a restart; connections
/// already open keep theirs. A file that does not load (half written, wrong password) leaves the current one in use.
/// </summary>
public sealed class ServerCertificate
{
    private readonly string? _path;
    private readonly string? _password;
    private readonly TimeSpan _checkInterval;
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private X509Certificate2 _current;
    private (DateTime Written, long Length) _loadedFrom;
    private DateTimeOffset _nextCheck;

    private ServerCertificate(X509Certificate2 certificate, string? path, string? password, TimeSpan checkInterval, TimeProvider? time)
    {
        _current = certificate;
        _path = path;
        _password = password;
        _checkInterval = checkInterval;
        _time = time ?? TimeProvider.System;
        if (path is not null)
            _loadedFrom = Stamp(path);
        _nextCheck = path is null ? DateTimeOffset.MaxValue : _time.GetUtcNow() + checkInterval;
    }

    /// <summary>Raised after a changed file was loaded (for the log).</summary>
    public event Action<X509Certificate2>? Reloaded;

    /// <summary>The certificate for a handshake starting now.</summary>
    public X509Certificate2 Current
    {
        get
        {
            if (_path is null || _time.GetUtcNow() < _nextCheck)
                return _current;
            lock (_lock)
            {
                if (_time.GetUtcNow() >= _nextCheck)
                {
                    _nextCheck = _time.GetUtcNow() + _checkInterval; // FromFile only: a fixed certificate never gets here
                    TryReload();
                }
                return _current;
            }
        }
    }

    public static ServerCertificate Fixed(X509Certificate2 certificate) => new(certificate, null, null, TimeSpan.MaxValue, null);

    public static implicit operator ServerCertificate(X509Certificate2 certificate) => Fixed(certificate);

    /// <summary>Loads <paramref name="path"/> now (throws if it cannot) and watches it, checking at most every <paramref name="checkInterval"/>.</summary>
    public static ServerCertificate FromFile(string path, string? password = null, TimeSpan? checkInterval = null, TimeProvider? time = null) =>
        new(Load(path, password), path, password, checkInterval ?? TimeSpan.FromSeconds(30), time);

    /// <summary>MAILCLOUD_TLS_CERT (+ _PASSWORD, and MAILCLOUD_TLS_RELOAD for the check interval), or null when unset.</summary>
    public static ServerCertificate? FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (environment("MAILCLOUD_TLS_CERT") is not { Length: > 0 } path)
            return null;
        var interval = environment("MAILCLOUD_TLS_RELOAD") is { Length: > 0 } text ? Core.Durations.Parse(text) : (TimeSpan?)null;
        return FromFile(path, environment("MAILCLOUD_TLS_CERT_PASSWORD"), interval);
    }

    private void TryReload()
    {
        try
        {
            var stamp = Stamp(_path!);
            if (stamp == _loadedFrom)
                return;
            var fresh = Load(_path!, _password);
            _loadedFrom = stamp;
            if (fresh.Thumbprint == _current.Thumbprint)
                return;
            _current = fresh; // the old one stays referenced by the connections that use it
            Reloaded?.Invoke(fresh);
        }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or FormatException or UnauthorizedAccessException)
        {
            // Half-written or broken: keep serving the certificate we have and look again at the next check.
        }
    }

    private static (DateTime, long) Stamp(string path)
    {
        var info = new FileInfo(path);
        return (info.LastWriteTimeUtc, info.Length);
    }

    internal static X509Certificate2 Load(string path, string? password)
    {
        var bytes = File.ReadAllBytes(path);
        var text = Encoding.ASCII.GetString(bytes).Trim();
        if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            // PEM with the certificate and its key; exported once so SslStream can use the key on every platform.
            using var pem = password is null ? X509Certificate2.CreateFromPem(text, text) : X509Certificate2.CreateFromEncryptedPem(text, text, password);
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        var pkcs12 = LooksLikeBase64(text) ? Convert.FromBase64String(text) : bytes;
        return X509CertificateLoader.LoadPkcs12(pkcs12, password);
    }

    private static bool LooksLikeBase64(string text) =>
        text.Length > 0 && text.Length % 4 == 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=');
}
