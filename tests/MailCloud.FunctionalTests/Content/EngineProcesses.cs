using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MailCloud.LocalDev;

namespace MailCloud.FunctionalTests.Content;

/// <summary>A daemon from Debian's packages run in the foreground with its files in a folder of its own; restartable.</summary>
public abstract class EngineProcess : IAsyncDisposable
{
    private Process? _process;
    private readonly StringBuilder _output = new();

    protected EngineProcess(string name)
    {
        Folder = Path.Combine(Path.GetTempPath(), $"mailcloud-{name}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }
    public int Port { get; } = AzuriteProcess.FreePort();
    public string Output { get { lock (_output) return _output.ToString(); } }

    protected abstract string Executable { get; }
    protected abstract IEnumerable<string> Arguments { get; }
    protected abstract Task<bool> ReadyAsync();

    public async Task StartAsync(TimeSpan timeout)
    {
        if (!File.Exists(Executable))
            throw new InvalidOperationException($"{Executable} is not installed: apt-get install rspamd clamav-daemon (./run-tests does it when run as root)");
        var psi = new ProcessStartInfo(Executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in Arguments)
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Executable} exited with {_process.ExitCode}: {Output}");
            if (await ReadyAsync())
                return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"{Executable} did not answer on port {Port} within {timeout.TotalSeconds} s: {Output}");
    }

    /// <summary>Kills the daemon (as a crash would) and waits until its port refuses connections.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// clamd with a signature database built here (no signature download is possible): one body signature for the EICAR
/// test string, as an .ndb (hex) line. clamd decodes MIME itself, so a base64 attachment is found too.
/// </summary>
public sealed class ClamdProcess : EngineProcess
{
    public const string Eicar = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    public const string SignatureName = "MailCloud.Test.EICAR";

    public ClamdProcess() : base("clamd")
    {
        var db = Path.Combine(Folder, "db");
        System.IO.Directory.CreateDirectory(db);
        File.WriteAllText(Path.Combine(db, "mailcloud-test.ndb"), $"{SignatureName}:0:*:{Convert.ToHexString(Encoding.ASCII.GetBytes(Eicar)).ToLowerInvariant()}\n");
        File.WriteAllText(Path.Combine(Folder, "clamd.conf"), string.Join('\n',
            "Foreground yes", $"TCPSocket {Port}", "TCPAddr 127.0.0.1", $"DatabaseDirectory {db}", $"LogFile {Path.Combine(Folder, "clamd.log")}",
            $"PidFile {Path.Combine(Folder, "clamd.pid")}", "StreamMaxLength 25M", "ScanMail yes", "SelfCheck 0") + "\n");
    }

    protected override string Executable => "/usr/sbin/clamd";
    protected override IEnumerable<string> Arguments => ["-c", Path.Combine(Folder, "clamd.conf")];
    public string Address => $"127.0.0.1:{Port}";

    protected override async Task<bool> ReadyAsync()
    {
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync("zPING\0"u8.ToArray());
            var buffer = new byte[16];
            int n = await stream.ReadAsync(buffer);
            return Encoding.ASCII.GetString(buffer, 0, n).StartsWith("PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>
/// rspamd 3.4 with Debian's rules, its scanner and controller workers on loopback ports of the test's choosing, the
/// Bayes classifier on SQLite (no Redis needed) learning from the first message, with its learn cache in the same
/// folder (its default, /var/lib/rspamd, would remember lessons across runs), and the DNS-based rules pointed at a
/// closed local port (this machine has no DNS; they answer "no record" at once). The hostname-reputation module is
/// off for the same reason: with no reverse DNS every sender would look suspicious. Test patterns (GTUBE variants for
/// each action) are on.
/// </summary>
public sealed class RspamdProcess : EngineProcess
{
    public const string GtubeReject = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
    public const string GtubeAddHeader = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

    public RspamdProcess() : base("rspamd")
    {
        foreach (var d in new[] { "local.d", "db", "run", "log" })
            System.IO.Directory.CreateDirectory(Path.Combine(Folder, d));
        File.WriteAllText(Path.Combine(Folder, "rspamd.conf"), $$"""
            .include "$CONFDIR/common.conf"
            options {
              pidfile = "$RUNDIR/rspamd.pid";
              .include "$CONFDIR/options.inc"
              dns { nameserver = ["127.0.0.1:{{AzuriteProcess.FreePort()}}"]; timeout = 0.2s; retransmits = 1; }
              disable_hyperscan = true;
              enable_test_patterns = true;
            }
            logging { type = "file"; filename = "$LOGDIR/rspamd.log"; level = "info"; }
            worker "normal" { bind_socket = "127.0.0.1:{{Port}}"; mime = true; count = 1; }
            worker "controller" { bind_socket = "127.0.0.1:{{ControllerPort}}"; count = 1; secure_ip = "127.0.0.1"; password = "{{Guid.NewGuid():N}}"; }
            """);
        File.WriteAllText(Path.Combine(Folder, "local.d", "classifier-bayes.conf"), """
            backend = "sqlite3";
            min_learns = 1;
            cache { path = "$DBDIR/learn_cache.sqlite"; }
            statfile { symbol = "BAYES_HAM"; spam = false; path = "$DBDIR/bayes.ham.sqlite"; }
            statfile { symbol = "BAYES_SPAM"; spam = true; path = "$DBDIR/bayes.spam.sqlite"; }
            """);
        File.WriteAllText(Path.Combine(Folder, "local.d", "hfilter.conf"), "enabled = false;\n");
    }

    public int ControllerPort { get; } = AzuriteProcess.FreePort();
    public Uri Url => new($"http://127.0.0.1:{Port}/");
    public Uri ControllerUrl => new($"http://127.0.0.1:{ControllerPort}/");

    protected override string Executable => "/usr/bin/rspamd";

    protected override IEnumerable<string> Arguments =>
    [
        "-f", "-i", "-c", Path.Combine(Folder, "rspamd.conf"),
        "--var", $"LOCAL_CONFDIR={Folder}", "--var", $"DBDIR={Path.Combine(Folder, "db")}",
        "--var", $"RUNDIR={Path.Combine(Folder, "run")}", "--var", $"LOGDIR={Path.Combine(Folder, "log")}",
    ];

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    protected override async Task<bool> ReadyAsync()
    {
        try
        {
            return (await Http.GetStringAsync(new Uri(Url, "/ping"))).StartsWith("pong", StringComparison.Ordinal)
                && (await Http.GetAsync(new Uri(ControllerUrl, "/stat"))).IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
