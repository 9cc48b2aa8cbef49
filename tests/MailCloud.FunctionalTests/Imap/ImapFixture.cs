using System.Net;
using System.Text.Json;
using MailCloud.FunctionalTests.Pipeline;
using MailCloud.Imap;
using MailCloud.LocalDev;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Imap;

/// <summary>
/// The whole local system (Azurite, SMTP, functions with the trigger driver) plus a real IMAP server (Kestrel, TLS)
/// on STARTTLS and implicit-TLS ports, so mail sent over SMTP can be watched arriving over IMAP.
/// </summary>
public class ImapFixture : PipelineFixture
{
    private WebApplication? _imap;

    public int ImapPort { get; } = AzuriteProcess.FreePort();
    public int ImapsPort { get; } = AzuriteProcess.FreePort();
    public ImapServerOptions ImapOptions { get; private set; } = null!;

    public Dictionary<string, string> ImapEnv
    {
        get
        {
            var env = Env;
            env["IMAP"] = ImapPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            env["IMAPS"] = ImapsPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            env["NODE_PATH"] = Path.Combine(Cli.MailCloudToolTests.RepoRoot(), "node_modules");
            return env;
        }
    }

    /// <summary>Each test works in its own mailbox (u1..u18@example.test), so tests stay independent.</summary>
    protected override async Task SeedAsync()
    {
        await base.SeedAsync();
        for (int i = 1; i <= 18; i++)
            await Directory.AddUserAsync(Core.MailAddress.Parse($"u{i}@example.test"), Password, quotaBytes: i == 16 ? 2000 : null);
    }

    /// <summary>Whether IMAP reports moves into and out of Junk to the learn queue.</summary>
    protected virtual bool LearnSpam => false;

    protected override async Task OnStartedAsync()
    {
        await base.OnStartedAsync();
        ImapOptions = new ImapServerOptions
        {
            HostName = "imap.mailcloud.test",
            Certificate = Certificate,
            PollInterval = TimeSpan.FromMilliseconds(300),
            AuthMaxFailures = 5,
            AuthFailureDelay = TimeSpan.FromMilliseconds(50),
            MaxMessageSize = 1024 * 1024,
            LearnSpam = LearnSpam,
        };
        ImapOptions.Listeners.Add(new ImapListener("imap", new IPEndPoint(IPAddress.Loopback, ImapPort), false));
        ImapOptions.Listeners.Add(new ImapListener("imaps", new IPEndPoint(IPAddress.Loopback, ImapsPort), true));
        _imap = ImapServerHost.Build(ImapOptions, Account, l => l.AddFilter(_ => false));
        await _imap.StartAsync();
    }

    protected override async Task OnStoppingAsync()
    {
        if (_imap is not null)
        {
            await _imap.StopAsync();
            await _imap.DisposeAsync();
        }
        await base.OnStoppingAsync();
    }

    /// <summary>Runs a python3 imaplib/raw-socket script (with <see cref="ImapClients.Prelude"/>) and returns its JSON lines.</summary>
    public async Task<List<JsonElement>> PythonAsync(string body)
    {
        var r = await ExternalProcess.PythonAsync(ImapClients.Prelude + "\n" + body, ImapEnv, TimeSpan.FromSeconds(90));
        Assert.True(r.ExitCode == 0, $"python failed: {r.Stderr}\n{r.Stdout}");
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }
}

/// <summary>Reading the JSON lines the client scripts print ({"k": kind, ...}).</summary>
internal static class JsonLines
{
    public static JsonElement One(List<JsonElement> lines, string kind) => lines.Single(l => l.GetProperty("k").GetString() == kind);

    /// <summary>A value as text; arrays (imaplib's nested results) flattened to lines.</summary>
    public static string S(JsonElement e, string name) => Flat(e.GetProperty(name));

    public static List<string> Lines(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetString()!).ToList();

    private static string Flat(JsonElement e) => e.ValueKind == JsonValueKind.Array ? string.Join("\n", e.EnumerateArray().Select(Flat)) : e.ToString();
}

internal static class ImapClients
{
    public const string Prelude = """
import imaplib, smtplib, ssl, os, json, socket, base64, hashlib, hmac, time, re
ctx = ssl._create_unverified_context()
IMAP = int(os.environ["IMAP"]); IMAPS = int(os.environ["IMAPS"]); MX = int(os.environ["MX"]); PW = os.environ["PASSWORD"]
def out(**kw): print(json.dumps(kw), flush=True)
def t(b):
    if isinstance(b, (list, tuple)): return [t(x) for x in b]
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
def login(user, port=None):
    m = imaplib.IMAP4_SSL("127.0.0.1", port or IMAPS, ssl_context=ctx, timeout=20)
    m.login(user, PW)
    return m
class Raw:
    # A byte-exact IMAP client: send exactly what we say, read lines (and literals) back.
    def __init__(self, port=None, tls=True):
        s = socket.create_connection(("127.0.0.1", port or IMAPS), timeout=20)
        self.s = ctx.wrap_socket(s) if tls else s
        self.f = self.s.makefile("rb")
        self.greeting = self.line()
        self.n = 0
    def send(self, data): self.s.sendall(data if isinstance(data, bytes) else data.encode())
    def line(self):
        l = self.f.readline()
        if not l: return "EOF"
        m = re.search(rb"\{(\d+)\}\r\n$", l)
        if m: l = l + self.f.read(int(m.group(1))) + self.f.readline()
        return l.decode("utf-8", "replace").rstrip("\r\n")
    def until(self, tag):
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if l == "EOF" or l.startswith(tag + " "): return lines
    def cmd(self, c):
        self.n += 1; tag = "r%d" % self.n
        self.send(tag + " " + c + "\r\n")
        return self.until(tag)
    def login(self, user): return self.cmd('LOGIN "%s" "%s"' % (user, PW))
def smtp_send(sender, rcpt, subject, body="hello"):
    s = smtplib.SMTP("127.0.0.1", MX, timeout=15)
    s.sendmail(sender, [rcpt], ("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\n%s\r\n" % (sender, rcpt, subject, body)).encode())
    s.quit()
""";
}
