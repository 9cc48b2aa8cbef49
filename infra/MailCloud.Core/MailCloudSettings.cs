using System.Globalization;

namespace MailCloud.Core;

/// <summary>One listening endpoint of a front end, as printed by <c>mailcloud up</c>.</summary>
public sealed record ListenerSetting(string Name, string Protocol, string EnvironmentVariable, int DefaultPort, string Security)
{
    /// <summary>Which front end serves it (a <see cref="MailCloudSettings.FrontEndProtocols"/> name).</summary>
    public string FrontEnd => Name.StartsWith("submission", StringComparison.Ordinal) ? "smtp" : Name.TrimEnd('s');
}

/// <summary>
/// Settings every MailCloud process reads from <c>MAILCLOUD_*</c> environment variables (documented in the README).
/// These names are a contract with users' scripts: keep them stable.
/// </summary>
public sealed class MailCloudSettings
{
    public const string StorageVariable = "MAILCLOUD_STORAGE";
    public const string StorageAccountVariable = "MAILCLOUD_STORAGE_ACCOUNT";
    public const string BindVariable = "MAILCLOUD_BIND";
    public const string DefaultStorage = "UseDevelopmentStorage=true";

    /// <summary>The listeners of the front ends, with the local defaults from the design.</summary>
    public static IReadOnlyList<ListenerSetting> Listeners { get; } =
    [
        new("smtp", "SMTP (MX)", "MAILCLOUD_SMTP_PORT", 2525, "STARTTLS"),
        new("submission", "SMTP submission", "MAILCLOUD_SUBMISSION_PORT", 2587, "STARTTLS, AUTH required"),
        new("submissions", "SMTP submission", "MAILCLOUD_SUBMISSIONS_PORT", 2465, "implicit TLS, AUTH required"),
        new("imap", "IMAP", "MAILCLOUD_IMAP_PORT", 1143, "STARTTLS"),
        new("imaps", "IMAP", "MAILCLOUD_IMAPS_PORT", 1993, "implicit TLS"),
        new("pop3", "POP3", "MAILCLOUD_POP3_PORT", 1110, "STLS"),
        new("pop3s", "POP3", "MAILCLOUD_POP3S_PORT", 1995, "implicit TLS"),
        new("web", "admin/web (HTTP)", "MAILCLOUD_WEB_PORT", 8080, "plain HTTP on loopback"),
        new("webs", "webmail/admin (HTTPS)", "MAILCLOUD_WEBS_PORT", 8443, "implicit TLS"),
    ];

    private readonly Func<string, string?> _env;

    public MailCloudSettings(Func<string, string?>? environment = null) => _env = environment ?? Environment.GetEnvironmentVariable;

    /// <summary>A variable as this process's settings see it (the standard OTEL_* ones are read through here).</summary>
    public string? Variable(string name) => _env(name);

    /// <summary>Azure Storage connection string; Azurite's well-known development account by default.</summary>
    public string StorageConnectionString => NonEmpty(_env(StorageVariable)) ?? DefaultStorage;

    public bool HasStorageConnectionString => NonEmpty(_env(StorageVariable)) is not null;

    public bool StorageIsDefault => !HasStorageConnectionString && StorageAccountName is null;

    /// <summary>In Azure: the account name, reached with the managed identity instead of a connection string.</summary>
    public string? StorageAccountName => NonEmpty(_env(StorageAccountVariable));

    /// <summary>This server's name in SMTP/POP3 greetings, Received: headers and bounces (MAILCLOUD_HOSTNAME).</summary>
    public string HostName => NonEmpty(_env("MAILCLOUD_HOSTNAME")) ?? "localhost";

    /// <summary>Azure Key Vault for DKIM private keys (MAILCLOUD_KEYVAULT_URI); unset keeps them in the directory table.</summary>
    public Uri? KeyVaultUri => NonEmpty(_env("MAILCLOUD_KEYVAULT_URI")) is { } v ? new Uri(v.EndsWith('/') ? v : v + "/") : null;

    /// <summary>SHA-256 (hex) of the admin API's bearer token (MAILCLOUD_ADMIN_TOKEN_SHA256); unset keeps the API off.</summary>
    public string? AdminTokenSha256 => NonEmpty(_env("MAILCLOUD_ADMIN_TOKEN_SHA256"));

    /// <summary>
    /// Shared key of the push channel (MAILCLOUD_PUSH_KEY): the functions present it when they tell the front end's
    /// <c>/internal/mailbox-changed</c> that a folder changed; unset keeps that endpoint off.
    /// </summary>
    public string? PushKey => NonEmpty(_env("MAILCLOUD_PUSH_KEY"));

    /// <summary>rspamd's scanner worker (MAILCLOUD_RSPAMD_URL, e.g. http://127.0.0.1:11333); unset uses the built-in scorer.</summary>
    public Uri? RspamdUrl => Url("MAILCLOUD_RSPAMD_URL");

    /// <summary>rspamd's controller for learning (MAILCLOUD_RSPAMD_CONTROLLER_URL); by default the scanner's host at port 11334.</summary>
    public Uri? RspamdControllerUrl => Url("MAILCLOUD_RSPAMD_CONTROLLER_URL")
        ?? (RspamdUrl is { } scanner ? new UriBuilder(scanner) { Port = 11334, Path = "/" }.Uri : null);

    /// <summary>The controller's password (MAILCLOUD_RSPAMD_PASSWORD); not needed from rspamd's secure_ip addresses.</summary>
    public string? RspamdPassword => NonEmpty(_env("MAILCLOUD_RSPAMD_PASSWORD"));

    /// <summary>How long a scan may take (MAILCLOUD_RSPAMD_TIMEOUT, default 30s) before the item is retried.</summary>
    public TimeSpan RspamdTimeout => Duration("MAILCLOUD_RSPAMD_TIMEOUT", TimeSpan.FromSeconds(30));

    /// <summary>clamd's address (MAILCLOUD_CLAMD: host:port or unix:/path); unset scans for no viruses.</summary>
    public string? Clamd => NonEmpty(_env("MAILCLOUD_CLAMD"));

    /// <summary>clamd's StreamMaxLength (MAILCLOUD_CLAMD_MAX, default 25M): no more than this is sent.</summary>
    public long ClamdMaxStream => ByteSize.TryParse(NonEmpty(_env("MAILCLOUD_CLAMD_MAX")), out var b) && b > 0 ? b : 25L * 1024 * 1024;

    public TimeSpan ClamdTimeout => Duration("MAILCLOUD_CLAMD_TIMEOUT", TimeSpan.FromSeconds(60));

    /// <summary>MAILCLOUD_FILTER_FAIL_OPEN=true delivers unscanned mail while an engine is down (default: retry until it is back).</summary>
    public bool FilterFailOpen => NonEmpty(_env("MAILCLOUD_FILTER_FAIL_OPEN")) is { } v && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase) || v.Equals("yes", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Whether the IMAP front end reports moves into and out of Junk to the learn queue (MAILCLOUD_SPAM_LEARNING);
    /// by default on exactly when MAILCLOUD_RSPAMD_URL is set (only rspamd learns).
    /// </summary>
    public bool SpamLearning => NonEmpty(_env("MAILCLOUD_SPAM_LEARNING")) is { } v
        ? v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase) || v.Equals("yes", StringComparison.OrdinalIgnoreCase)
        : RspamdUrl is not null;

    /// <summary>How long held messages are kept (MAILCLOUD_QUARANTINE_DAYS, default 30) before housekeeping deletes them.</summary>
    public TimeSpan QuarantineRetention => int.TryParse(NonEmpty(_env("MAILCLOUD_QUARANTINE_DAYS")), NumberStyles.None, CultureInfo.InvariantCulture, out var d) && d > 0 ? TimeSpan.FromDays(d) : TimeSpan.FromDays(30);

    /// <summary>NCRONTAB (with seconds) of the automatic backup (MAILCLOUD_BACKUP_SCHEDULE, default 02:00 UTC daily); null when "off".</summary>
    public string? BackupSchedule => NonEmpty(_env(BackupScheduleVariable)) is { } v ? (v.Trim() == "off" ? null : v.Trim()) : DefaultBackupSchedule;

    public const string BackupScheduleVariable = "MAILCLOUD_BACKUP_SCHEDULE";
    public const string DefaultBackupSchedule = "0 0 2 * * *";

    /// <summary>Another storage account for backups (MAILCLOUD_BACKUP_STORAGE: a connection string, or an account name reached with the managed identity); null backs up into the main account.</summary>
    public string? BackupStorage => NonEmpty(_env("MAILCLOUD_BACKUP_STORAGE"));

    /// <summary>The backup container (MAILCLOUD_BACKUP_CONTAINER, default "backups").</summary>
    public string BackupContainer => NonEmpty(_env("MAILCLOUD_BACKUP_CONTAINER")) ?? StorageNames.BackupsContainer;

    /// <summary>Daily and weekly sets kept (MAILCLOUD_BACKUP_DAILY, default 7; MAILCLOUD_BACKUP_WEEKLY, default 4).</summary>
    public (int Daily, int Weekly) BackupKeep =>
        (int.TryParse(NonEmpty(_env("MAILCLOUD_BACKUP_DAILY")), NumberStyles.None, CultureInfo.InvariantCulture, out var d) && d > 0 ? d : 7,
         int.TryParse(NonEmpty(_env("MAILCLOUD_BACKUP_WEEKLY")), NumberStyles.None, CultureInfo.InvariantCulture, out var w) ? w : 4);

    /// <summary>How long message traces are kept (MAILCLOUD_TRACE_DAYS, default 30).</summary>
    public TimeSpan TraceRetention => int.TryParse(NonEmpty(_env("MAILCLOUD_TRACE_DAYS")), NumberStyles.None, CultureInfo.InvariantCulture, out var d) && d > 0 ? TimeSpan.FromDays(d) : TimeSpan.FromDays(30);

    /// <summary>
    /// Failed logins one client address may make (MAILCLOUD_AUTH_MAX_FAILURES, default 10) within 15 minutes, counted
    /// across SMTP AUTH, IMAP, POP3 and the admin API of one process, before it is refused until the window passes.
    /// </summary>
    public int AuthMaxFailures => int.TryParse(NonEmpty(_env("MAILCLOUD_AUTH_MAX_FAILURES")), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 10;

    /// <summary>Extra wait before each further failure's reply (MAILCLOUD_AUTH_FAILURE_DELAY, default 1s; capped at 10 s).</summary>
    public TimeSpan AuthFailureDelay => Duration("MAILCLOUD_AUTH_FAILURE_DELAY", TimeSpan.FromSeconds(1));

    /// <summary>The front-end protocols one process serves.</summary>
    public static IReadOnlyList<string> FrontEndProtocols { get; } = ["smtp", "pop3", "imap", "web"];

    /// <summary>
    /// Which front ends this process runs (MAILCLOUD_PROTOCOLS, comma-separated: smtp, pop3, imap, web); all by default.
    /// A large deployment runs one protocol per container app with the same image.
    /// </summary>
    public IReadOnlyList<string> Protocols
    {
        get
        {
            if (NonEmpty(_env("MAILCLOUD_PROTOCOLS")) is not { } text)
                return FrontEndProtocols;
            var chosen = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => p.ToLowerInvariant()).Distinct().ToList();
            var unknown = chosen.Except(FrontEndProtocols).ToList();
            if (unknown.Count > 0 || chosen.Count == 0)
                throw new FormatException($"MAILCLOUD_PROTOCOLS: '{text}' is not a list of {string.Join(", ", FrontEndProtocols)}");
            return FrontEndProtocols.Where(chosen.Contains).ToList();
        }
    }

    /// <summary>
    /// MAILCLOUD_MAX_CONNECTIONS_PER_ADDRESS: connections one client address may hold per protocol, when set; each
    /// front end has its own default otherwise (IMAP 50, POP3 and SMTP 20). Raise it for many users behind one NAT.
    /// </summary>
    public int? MaxConnectionsPerAddress =>
        int.TryParse(NonEmpty(_env("MAILCLOUD_MAX_CONNECTIONS_PER_ADDRESS")), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;

    /// <summary>
    /// MAILCLOUD_MAX_CONNECTIONS: connections each front end (SMTP, IMAP, POP3) holds at most, when set; defaults
    /// otherwise (IMAP 5,000, SMTP and POP3 1,000). Each connection costs a file descriptor: raise `ulimit -n` with it.
    /// </summary>
    public int? MaxConnections =>
        int.TryParse(NonEmpty(_env("MAILCLOUD_MAX_CONNECTIONS")), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;

    /// <summary>Address the front ends bind to (loopback unless told otherwise).</summary>
    public string BindAddress => NonEmpty(_env(BindVariable)) ?? "127.0.0.1";

    public int Port(ListenerSetting listener)
    {
        var raw = NonEmpty(_env(listener.EnvironmentVariable));
        if (raw is null)
            return listener.DefaultPort;
        return int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new FormatException($"{listener.EnvironmentVariable}='{raw}' is not a TCP port number.");
    }

    private Uri? Url(string name)
    {
        if (NonEmpty(_env(name)) is not { } text)
            return null;
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new FormatException($"{name}='{text}' is not an http(s) URL.");
    }

    private TimeSpan Duration(string name, TimeSpan fallback) => NonEmpty(_env(name)) is { } text ? Durations.Parse(text) : fallback;

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
