using System.Diagnostics;
using System.Text.Json;

namespace MailCloud.FunctionalTests.Delivery;

/// <summary>
/// Remote mail servers played by python3-aiosmtpd (Debian's package, run with /usr/bin/python3) on extra loopback
/// addresses. Per-recipient behaviour by local part: reject* → 550, defer* → 451 always, once* → 451 then 250.
/// Every accepted message is written to a folder with its envelope as JSON.
/// </summary>
public sealed class SmtpPeers : IAsyncDisposable
{
    private const string Script = """
import asyncio, json, os, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
port, folder, hosts, auth, tls = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(","), sys.argv[4], sys.argv[5]
seen = set()
class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("reject"): return "550 5.1.1 <%s>: no such user here" % address
        if local.startswith("defer"): return "451 4.2.0 try again later"
        if local.startswith("once") and address not in seen:
            seen.add(address); return "451 4.2.0 greylisted, try again"
        envelope.rcpt_tos.append(address); envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 OK"
    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(folder, "%f.json" % time.time())
        with open(name, "w") as f:
            json.dump({"host": session.host_name, "server": server.hostname, "peer": session.peer[0], "sock": server.transport.get_extra_info("sockname")[0],
                       "from": envelope.mail_from, "mail_options": envelope.mail_options, "to": envelope.rcpt_tos, "rcpt_options": envelope.rcpt_options,
                       "auth": str(session.auth_data) if session.authenticated else None, "tls": session.ssl is not None, "data": envelope.original_content.decode("utf-8", "replace")}, f)
        return "250 2.0.0 queued at the peer"
def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth != "-" and auth_data.login.decode() + ":" + auth_data.password.decode() == auth
    return AuthResult(success=True, auth_data=auth_data) if ok else AuthResult(success=False, handled=False)
controllers = []
for host in hosts:
    kwargs = dict(authenticator=authenticator, auth_require_tls=(tls != "-"), auth_required=(auth != "-"))
    if tls != "-":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls + ".crt", tls + ".key")
        kwargs["tls_context"] = context
    c = Controller(Handler(), hostname=host, port=port, server_hostname=host, **kwargs)
    c.start(); controllers.append(c)
print("ready", flush=True)
sys.stdin.read()
for c in controllers: c.stop()
""";

    private readonly Process _process;

    private SmtpPeers(Process process, string folder)
    {
        _process = process;
        Folder = folder;
    }

    public string Folder { get; }

    /// <param name="auth">"user:password" to require AUTH (relay host), or null.</param>
    /// <param name="tls">Offer STARTTLS (with a self-signed certificate) and allow AUTH only after it.</param>
    public static async Task<SmtpPeers> StartAsync(int port, IEnumerable<string> hosts, string? auth = null, bool tls = false)
    {
        var folder = Path.Combine(Path.GetTempPath(), "mailcloud-peers-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        string tlsBase = "-";
        if (tls)
        {
            tlsBase = Path.Combine(folder, "peer");
            using var cert = MailCloud.LocalDev.DevCertificate.LoadOrCreate(tlsBase + ".pfx", "relay.test");
            await File.WriteAllTextAsync(tlsBase + ".crt", cert.ExportCertificatePem());
            using var key = System.Security.Cryptography.X509Certificates.RSACertificateExtensions.GetRSAPrivateKey(cert)!;
            await File.WriteAllTextAsync(tlsBase + ".key", key.ExportPkcs8PrivateKeyPem());
        }
        var psi = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", Script, port.ToString(System.Globalization.CultureInfo.InvariantCulture), folder, string.Join(',', hosts), auth ?? "-", tlsBase })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (ready != "ready")
            throw new InvalidOperationException("SMTP peers did not start: " + await process.StandardError.ReadToEndAsync());
        return new SmtpPeers(process, folder);
    }

    /// <summary>Messages the peers accepted so far.</summary>
    public List<JsonElement> Received() =>
        Directory.GetFiles(Folder, "*.json").Order(StringComparer.Ordinal).Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.Clone()).ToList();

    public async Task<List<JsonElement>> WaitForAsync(Func<JsonElement, bool> match, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            var hits = Received().Where(match).ToList();
            if (hits.Count >= count)
                return hits;
            await Task.Delay(100);
        }
        throw new TimeoutException($"the peers did not receive {count} matching message(s); got: {string.Join(" | ", Received().Select(r => r.GetProperty("to").ToString()))}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
        try { Directory.Delete(Folder, true); } catch (IOException) { }
    }
}
