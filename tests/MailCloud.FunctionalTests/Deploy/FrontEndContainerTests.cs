using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using MailCloud.Data;
using MailCloud.FunctionalTests.Cli;
using MailCloud.LocalDev;

namespace MailCloud.FunctionalTests.Deploy;

/// <summary>
/// The single front end as its container runs it: the published MailCloud.FrontEnd with the environment of
/// bicep/frontend-env.json, the certificate as Container Apps mounts a Key Vault certificate (the base64 text of a
/// PFX), and the storage account replaced by Azurite. Images cannot be built here (no registry is reachable), so
/// this runs the same published output directly. Only the bind address (loopback instead of 0.0.0.0), the ports
/// (free ones instead of the fixed ones) and the certificate check interval (1 s instead of 60 s) differ.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class FrontEndContainerTests(AzuriteFixture azurite)
{
    private static readonly string[] PortVariables =
        ["MAILCLOUD_SMTP_PORT", "MAILCLOUD_SUBMISSION_PORT", "MAILCLOUD_SUBMISSIONS_PORT", "MAILCLOUD_IMAP_PORT", "MAILCLOUD_IMAPS_PORT", "MAILCLOUD_POP3_PORT", "MAILCLOUD_POP3S_PORT", "MAILCLOUD_WEB_PORT", "MAILCLOUD_WEBS_PORT"];

    [Fact]
    public async Task One_process_serves_every_protocol_and_picks_up_a_renewed_certificate()
    {
        var repo = MailCloudToolTests.RepoRoot();
        var work = Path.Combine(Path.GetTempPath(), "mailcloud-frontend-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            // Published as the Dockerfile publishes it: for a runtime, which makes it ReadyToRun (this machine's, so the
            // precompiled code is the code that runs).
            var publish = await ExternalProcess.RunAsync("dotnet", ["publish", Path.Combine(repo, "protocol-hosts", "MailCloud.FrontEnd", "MailCloud.FrontEnd.csproj"),
                "-c", "Release", "-r", System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier, "-o", Path.Combine(work, "app"), "--nologo", "-v", "q"], timeout: TimeSpan.FromMinutes(8));
            Assert.True(publish.ExitCode == 0, publish.Stdout + publish.Stderr);
            foreach (var assembly in new[] { "MailCloud.FrontEnd.dll", "MailCloud.Imap.dll", "MailCloud.Data.dll" })
                Assert.True(IsReadyToRun(Path.Combine(work, "app", assembly)), $"{assembly} was published without precompiled code");
            await StorageProvisioner.EnsureCreatedAsync(azurite.NewAccount());

            // The certificate file as a Container Apps secret volume holds a Key Vault certificate: base64 PFX text.
            var certFile = Path.Combine(work, "tls.pfx");
            using var first = DevCertificate.LoadOrCreate(Path.Combine(work, "first.pfx"), "mail.example.test");
            await File.WriteAllTextAsync(certFile, Convert.ToBase64String(first.Export(X509ContentType.Pkcs12)));

            var env = ContainerEnvironment(repo);
            env["MAILCLOUD_BIND"] = "127.0.0.1";
            var ports = PortVariables.ToDictionary(v => v, _ => AzuriteProcess.FreePort());
            foreach (var (name, port) in ports)
                env[name] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            env["MAILCLOUD_TLS_CERT"] = certFile;
            env["MAILCLOUD_TLS_RELOAD"] = "1s";
            env.Remove("MAILCLOUD_STORAGE_ACCOUNT");
            env["MAILCLOUD_STORAGE"] = azurite.ConnectionString;
            env["MAILCLOUD_HOSTNAME"] = "mail.example.test";

            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.Combine(work, "app") };
            psi.ArgumentList.Add("MailCloud.FrontEnd.dll");
            foreach (var (k, v) in env)
                psi.Environment[k] = v;
            using var process = Process.Start(psi)!;
            var output = new StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await WaitForAsync(() => { lock (output) return output.ToString().Contains("ready", StringComparison.Ordinal); }, () => output.ToString());
                Assert.Equal(9, output.ToString().Split('\n').Count(l => l.StartsWith("listening:", StringComparison.Ordinal)));

                Assert.StartsWith("220 mail.example.test", await GreetingAsync(ports["MAILCLOUD_SMTP_PORT"], null), StringComparison.Ordinal);
                Assert.StartsWith("220 mail.example.test", await GreetingAsync(ports["MAILCLOUD_SUBMISSION_PORT"], null), StringComparison.Ordinal);
                Assert.StartsWith("220 mail.example.test", await GreetingAsync(ports["MAILCLOUD_SUBMISSIONS_PORT"], first.Thumbprint), StringComparison.Ordinal);
                Assert.StartsWith("* OK", await GreetingAsync(ports["MAILCLOUD_IMAP_PORT"], null), StringComparison.Ordinal);
                Assert.StartsWith("+OK", await GreetingAsync(ports["MAILCLOUD_POP3_PORT"], null), StringComparison.Ordinal);
                Assert.StartsWith("+OK", await GreetingAsync(ports["MAILCLOUD_POP3S_PORT"], first.Thumbprint), StringComparison.Ordinal);
                using (var http = new HttpClient())
                    Assert.Contains("\"ok\"", await http.GetStringAsync($"http://127.0.0.1:{ports["MAILCLOUD_WEB_PORT"]}/healthz"), StringComparison.Ordinal);
                // The web host over HTTPS presents the same mounted certificate.
                using (var tls = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == first.Thumbprint })
                using (var https = new HttpClient(tls))
                    Assert.Contains("\"ok\"", await https.GetStringAsync($"https://127.0.0.1:{ports["MAILCLOUD_WEBS_PORT"]}/healthz"), StringComparison.Ordinal);

                // A connection opened with the first certificate stays up while the file is renewed.
                using var before = await OpenTlsAsync(ports["MAILCLOUD_IMAPS_PORT"]);
                Assert.Equal(first.Thumbprint, before.Certificate.Thumbprint);

                using var renewed = DevCertificate.LoadOrCreate(Path.Combine(work, "second.pfx"), "mail.example.test");
                Assert.NotEqual(first.Thumbprint, renewed.Thumbprint);
                await File.WriteAllTextAsync(certFile + ".new", Convert.ToBase64String(renewed.Export(X509ContentType.Pkcs12)));
                File.Move(certFile + ".new", certFile, overwrite: true); // replaced whole, as a volume update does
                string? now = null;
                await WaitForAsync(async () => (now = (await OpenTlsAsync(ports["MAILCLOUD_IMAPS_PORT"])).Certificate.Thumbprint) == renewed.Thumbprint, () => $"still {now}; {output}");
                Assert.Contains("TLS certificate reloaded", output.ToString(), StringComparison.Ordinal);

                await before.Writer.WriteAsync("a NOOP\r\n");
                await before.Writer.FlushAsync();
                Assert.StartsWith("a OK", await before.Reader.ReadLineAsync(), StringComparison.Ordinal);
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            try { Directory.Delete(work, true); } catch (IOException) { }
        }
    }

    /// <summary>A ReadyToRun image carries a managed native header beside its IL.</summary>
    private static bool IsReadyToRun(string path)
    {
        using var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(path));
        return pe.PEHeaders.CorHeader is { ManagedNativeHeaderDirectory.Size: > 0 };
    }

    /// <summary>The container's environment from bicep/frontend-env.json (what Bicep puts in the container app).</summary>
    private static Dictionary<string, string> ContainerEnvironment(string repo)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(repo, "bicep", "frontend-env.json")));
        return doc.RootElement.GetProperty("env").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("value").GetString()!);
    }

    private static async Task<string> GreetingAsync(int port, string? expectedThumbprint)
    {
        if (expectedThumbprint is null)
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port);
            using var reader = new StreamReader(tcp.GetStream(), Encoding.ASCII);
            return await reader.ReadLineAsync() ?? string.Empty;
        }
        using var tls = await OpenTlsAsync(port);
        Assert.Equal(expectedThumbprint, tls.Certificate.Thumbprint);
        return tls.Greeting;
    }

    private sealed class TlsSession(TcpClient tcp, SslStream ssl, X509Certificate2 certificate) : IDisposable
    {
        public X509Certificate2 Certificate { get; } = certificate;
        public string Greeting { get; set; } = string.Empty;
        public StreamReader Reader { get; } = new(ssl, Encoding.ASCII);
        public StreamWriter Writer { get; } = new(ssl, Encoding.ASCII);

        public void Dispose()
        {
            ssl.Dispose();
            tcp.Dispose();
        }
    }

    private static async Task<TlsSession> OpenTlsAsync(int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        X509Certificate2? seen = null;
        var ssl = new SslStream(tcp.GetStream(), false, (_, cert, _, _) =>
        {
            seen = cert is null ? null : X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
            // Self-signed test certificates: the test compares thumbprints instead of chains.
            return seen is not null && seen.Subject.Contains("mail.example.test", StringComparison.Ordinal);
        });
        await ssl.AuthenticateAsClientAsync("mail.example.test");
        var session = new TlsSession(tcp, ssl, seen!);
        session.Greeting = await session.Reader.ReadLineAsync() ?? string.Empty;
        return session;
    }

    private static async Task WaitForAsync(Func<bool> condition, Func<string> describe) => await WaitForAsync(() => Task.FromResult(condition()), describe);

    private static async Task WaitForAsync(Func<Task<bool>> condition, Func<string> describe)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(describe());
            await Task.Delay(200);
        }
    }
}
