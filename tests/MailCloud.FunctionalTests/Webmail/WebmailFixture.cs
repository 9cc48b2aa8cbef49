using System.Globalization;
using System.Net;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FrontEnd;
using MailCloud.FunctionalTests.Cli;
using MailCloud.Functions;
using MailCloud.LocalDev;
using MailCloud.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace MailCloud.FunctionalTests.Webmail;

/// <summary>
/// What <c>./mailcloud up</c> runs — Azurite, the front ends of one process (SMTP, IMAP, POP3, web with the webmail)
/// and the functions through the local driver — on free ports, with Debian's chromium driven by Playwright.
/// Only remote delivery is left out (no recipient here is remote).
/// </summary>
public sealed class WebmailFixture : IAsyncLifetime
{
    public const string Password = "webmail test password";
    public const string HostName = "mail.example.test";
    private readonly string _data = Path.Combine(Path.GetTempPath(), "mailcloud-webmail-tests", Guid.NewGuid().ToString("N"));
    private FrontEnds? _frontEnds;
    private LocalFunctionsHost? _functions;
    private IPlaywright? _playwright;
    private System.Security.Cryptography.X509Certificates.X509Certificate2? _certificate;
    private Func<IEnumerable<string>> _recentLog = () => [];

    public AzuriteProcess Azurite { get; private set; } = null!;
    public StorageAccount Account { get; private set; } = null!;
    public IMailDirectory Directory { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public Dictionary<string, string> Environment { get; } = new();
    public MailCloudSettings Settings { get; private set; } = null!;

    /// <summary>Screenshots of the main screens, kept with the test output for a person to look at.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "webmail-screenshots");

    public int Port(string listener) => int.Parse(Environment[MailCloudSettings.Listeners.Single(l => l.Name == listener).EnvironmentVariable], CultureInfo.InvariantCulture);
    public string BaseUrl => $"http://127.0.0.1:{Port("web")}";

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteProcess.StartAsync(Path.Combine(_data, "azurite"));
        Account = new StorageAccount(Azurite.Connection);
        await StorageProvisioner.EnsureCreatedAsync(Account);
        Directory = StorageProvisioner.Directory(Account);
        await Directory.AddDomainAsync("example.test");
        foreach (var user in new[] { "alice", "bob", "carol", "dave", "erin", "frank", "grace", "ivan", "judy", "ken" })
            await Directory.AddUserAsync(MailAddress.Parse($"{user}@example.test"), Password);
        await Directory.AddAliasAsync(MailAddress.Parse("sales@example.test"), [MailAddress.Parse("alice@example.test")]);

        ListenerPorts.Assign(Environment);
        Environment["MAILCLOUD_HOSTNAME"] = HostName;
        Settings = new MailCloudSettings(name => Environment.GetValueOrDefault(name));
        _certificate = DevCertificate.LoadOrCreate(Path.Combine(_data, "tls.pfx"));
        var changes = new MailboxChangeHub();
        System.IO.Directory.CreateDirectory(ScreenshotDirectory);
#pragma warning disable CA2000 // the logging builder owns the provider
        var log = new FileLog(Path.Combine(ScreenshotDirectory, "server.log"));
#pragma warning restore CA2000
        _recentLog = () => log.Recent;
        Action<ILoggingBuilder> quiet = b => b.SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error).AddProvider(log);
        _frontEnds = await FrontEnds.StartAsync(Settings, Account, _certificate, MailCloudSettings.FrontEndProtocols, logging: quiet, changes: changes);

        // No DNS server: SPF/DMARC say temperror at once (AuthenticationTests cover them against dnsmasq).
        var noDns = new MailCloud.Dns.DnsResolver([new IPEndPoint(IPAddress.Loopback, AzuriteProcess.FreePort())], TimeSpan.FromMilliseconds(300), attempts: 1);
        var pipeline = new PipelineSettings(Account, HostName) { Dns = noDns, Changes = changes };
        _functions = LocalFunctionsHost.Create(Account, typeof(PipelineFunctions).Assembly, s => s.AddMailCloudPipeline(pipeline),
            Path.Combine(MailCloudToolTests.RepoRoot(), "host.json"), logging: quiet, include: t => t.Function != "deliver");
        _functions.Start();

        System.IO.Directory.CreateDirectory(ScreenshotDirectory);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(Launch());
    }

    /// <summary>Debian's chromium by path (Playwright's own download is unreachable here), without its background traffic.</summary>
    public static BrowserTypeLaunchOptions Launch() => new()
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
    };

    /// <summary>A fresh browser context (no cookies) signed in as <paramref name="user"/>.</summary>
    public async Task<IPage> SignInAsync(string user, ViewportSize? viewport = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = viewport ?? new ViewportSize { Width = 1280, Height = 860 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(20_000);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        page.RequestFailed += (_, r) => failures.Enqueue($"{r.Method} {r.Url}: {r.Failure}");
        page.Response += (_, r) => failures.Enqueue($"{r.Request.Method} {r.Url} -> {r.Status}");
        await page.GotoAsync(BaseUrl + "/mail");
        await page.FillAsync("input[name=user]", user);
        await page.FillAsync("input[name=password]", Password);
        await page.ClickAsync("button[type=submit]");
        try
        {
            // DOMContentLoaded, not the default "load": the page opens its event stream (/mail/events) as it starts,
            // and under load "load" came later than the 20 s timeout once in CI although the page was there.
            await page.WaitForURLAsync(BaseUrl + "/mail", new PageWaitForURLOptions { WaitUntil = WaitUntilState.DOMContentLoaded });
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"sign-in as {user} did not reach /mail: at {page.Url}; requests: {string.Join("; ", failures)}; server log: {string.Join('\n', _recentLog())}", e);
        }
        return page;
    }

    /// <summary>Waits for a form post to land on a page with <c>notice=</c><paramref name="notice"/>; a timeout says where the page is and the error it shows.</summary>
    public async Task WaitForNoticeAsync(IPage page, string notice)
    {
        try
        {
            // A send does a dozen storage requests; on 2 cores beside the load tests one took over the default 20 s.
            await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex("notice=" + notice), new() { Timeout = 60_000 });
        }
        catch (TimeoutException e)
        {
            var shown = await page.Locator("[role=alert]").AllInnerTextsAsync();
            throw new TimeoutException($"no notice={notice}: at {page.Url}; the page shows: {string.Join(" | ", shown)}; server log: {string.Join('\n', _recentLog())}", e);
        }
    }

    public static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    /// <summary>Sends raw bytes over SMTP to the MX listener, as a remote MTA would.</summary>
    public async Task DeliverAsync(string from, string to, string message)
    {
        var env = new Dictionary<string, string> { ["PORT"] = Port("smtp").ToString(CultureInfo.InvariantCulture), ["FROM"] = from, ["TO"] = to, ["MSG"] = message };
        var r = await ExternalProcess.PythonAsync("""
            import smtplib, os
            s = smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]), timeout=30)
            s.sendmail(os.environ["FROM"], [os.environ["TO"]], os.environ["MSG"].replace("\n", "\r\n").encode())
            s.quit()
            """, env);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    /// <summary>Sends as a local user through authenticated submission (587, STARTTLS), as a mail client would.</summary>
    public async Task SubmitAsync(string from, string to, string message)
    {
        var env = new Dictionary<string, string> { ["PORT"] = Port("submission").ToString(CultureInfo.InvariantCulture), ["FROM"] = from, ["TO"] = to, ["MSG"] = message, ["P"] = Password };
        var r = await ExternalProcess.PythonAsync("""
            import smtplib, os, ssl
            s = smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]), timeout=30)
            s.starttls(context=ssl._create_unverified_context())
            s.login(os.environ["FROM"], os.environ["P"])
            s.sendmail(os.environ["FROM"], [os.environ["TO"]], os.environ["MSG"].replace("\n", "\r\n").encode())
            s.quit()
            """, env);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    /// <summary>Whether python imaplib's LOGIN as <paramref name="user"/> with the fixture's password, on the IMAPS port given, succeeds (false: the server said NO).</summary>
    public static async Task<bool> ImapLoginSucceedsAsync(int imapsPort, string user)
    {
        var r = await ExternalProcess.PythonAsync("""
            import imaplib, ssl, os
            m = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['PORT']), ssl_context=ssl._create_unverified_context(), timeout=30)
            try:
                m.login(os.environ['U'], os.environ['P']); print('OK')
            except imaplib.IMAP4.error as e:
                print('NO', e)
            """, new Dictionary<string, string> { ["PORT"] = imapsPort.ToString(CultureInfo.InvariantCulture), ["U"] = user, ["P"] = Password });
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r.Stdout.StartsWith("OK", StringComparison.Ordinal);
    }

    /// <summary>Runs python imaplib (a real IMAP client) over implicit TLS as <paramref name="user"/>; the script's stdout.</summary>
    public async Task<string> ImapAsync(string user, string script, IDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string> { ["PORT"] = Port("imaps").ToString(CultureInfo.InvariantCulture), ["U"] = user, ["P"] = Password };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
            env[k] = v;
        var r = await ExternalProcess.PythonAsync("import imaplib, ssl, os, sys, json, email, hashlib, time\n"
            + "m = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['PORT']), ssl_context=ssl._create_unverified_context(), timeout=30)\n"
            + "m.login(os.environ['U'], os.environ['P'])\n"
            // wait_for(subject, count): the message numbers in the folder once that many with the subject are there (30 s at most).
            + "def wait_for(subject, count=1, box='INBOX'):\n"
            + "    for attempt in range(60):\n"
            + "        m.select(box)\n"
            + "        found = m.search(None, 'SUBJECT', '\"' + subject + '\"')[1][0].split()\n"
            + "        if len(found) >= count: return found\n"
            + "        time.sleep(0.5)\n"
            + "    return found\n"
            + script, env, TimeSpan.FromSeconds(90));
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        return r.Stdout;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.CloseAsync();
        _playwright?.Dispose();
        if (_functions is not null)
            await _functions.DisposeAsync();
        if (_frontEnds is not null)
            await _frontEnds.DisposeAsync();
        _certificate?.Dispose();
        await Azurite.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The servers' warnings and errors, in a file beside the screenshots and in failure messages.</summary>
internal sealed class FileLog(string path) : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _recent = new();
    private readonly Lock _gate = new();

    public IEnumerable<string> Recent => _recent.TakeLast(20);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Write(string line)
    {
        _recent.Enqueue(line);
        while (_recent.Count > 200)
            _recent.TryDequeue(out _);
        lock (_gate)
            File.AppendAllText(path, line + "\n");
    }

    private sealed class Logger(FileLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
                log.Write($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)} {exception}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class WebmailCollection : ICollectionFixture<WebmailFixture>
{
    public const string Name = "Webmail";
}
