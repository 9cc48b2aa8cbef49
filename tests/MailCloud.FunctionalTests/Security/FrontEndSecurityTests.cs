using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FrontEnd;
using MailCloud.LocalDev;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Security;

/// <summary>
/// The front ends of one process as the container runs them (SMTP, POP3, IMAP, web), with every log line at every
/// level captured: password guessing is counted across protocols per client address, nothing authenticates before
/// TLS, and no password (in clear or in its SASL encodings) and no message body reaches a log line.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class FrontEndSecurityTests(AzuriteFixture azurite)
{
    private sealed class LogSink : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Lines);
        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull
            {
                lines.Enqueue($"{category} scope: {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {exception}");
        }
    }

    [Fact]
    public async Task Guessing_is_counted_across_protocols_nothing_authenticates_before_tls_and_no_secret_is_logged()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var domain = AzuriteFixture.UniqueName("sec") + ".test";
        var user = "alice@" + domain;
        var secret = "Pw-" + Guid.NewGuid().ToString("N")[..12];
        var bodyMarker = "BODY-" + Guid.NewGuid().ToString("N");
        var directory = StorageProvisioner.Directory(account);
        await directory.AddDomainAsync(domain);
        await directory.AddUserAsync(MailAddress.Parse(user), secret);

        var env = new Dictionary<string, string>
        {
            ["MAILCLOUD_HOSTNAME"] = "sec.mailcloud.test",
            ["MAILCLOUD_AUTH_MAX_FAILURES"] = "3",
            ["MAILCLOUD_AUTH_FAILURE_DELAY"] = "0s",
            ["MAILCLOUD_SMTP_GREETING_PASS"] = "off",
            ["MAILCLOUD_SMTP_TRUSTED_NETWORKS"] = "127.0.0.0/8",
        };
        foreach (var l in MailCloudSettings.Listeners)
            env[l.EnvironmentVariable] = AzuriteProcess.FreePort().ToString(CultureInfo.InvariantCulture);
        var settings = new MailCloudSettings(name => env.GetValueOrDefault(name));
        int Port(string name) => int.Parse(env[MailCloudSettings.Listeners.Single(l => l.Name == name).EnvironmentVariable], CultureInfo.InvariantCulture);

        var sink = new LogSink();
        using var cert = DevCertificate.LoadOrCreate(Path.Combine(Path.GetTempPath(), "mailcloud-tests", Guid.NewGuid().ToString("N"), "tls.pfx"));
        await using (var frontEnds = await FrontEnds.StartAsync(settings, account, cert, MailCloudSettings.FrontEndProtocols,
            logging: b => { b.SetMinimumLevel(LogLevel.Trace); b.AddProvider(sink); }))
        {
            var script = new Dictionary<string, string>
            {
                ["USER_ADDR"] = user, ["SECRET"] = secret, ["BODY"] = bodyMarker,
                ["SUB"] = Port("submission").ToString(CultureInfo.InvariantCulture), ["SUBS"] = Port("submissions").ToString(CultureInfo.InvariantCulture),
                ["IMAP"] = Port("imap").ToString(CultureInfo.InvariantCulture), ["IMAPS"] = Port("imaps").ToString(CultureInfo.InvariantCulture),
                ["POP3"] = Port("pop3").ToString(CultureInfo.InvariantCulture), ["POP3S"] = Port("pop3s").ToString(CultureInfo.InvariantCulture),
            };
            var r = await ExternalProcess.PythonAsync("""
                import smtplib, imaplib, poplib, ssl, os, socket, base64, json
                ctx = ssl._create_unverified_context()
                U, P, B = os.environ["USER_ADDR"], os.environ["SECRET"], os.environ["BODY"]
                port = lambda n: int(os.environ[n])
                def out(**kw): print(json.dumps(kw), flush=True)
                plain = base64.b64encode(("\0" + U + "\0" + P).encode()).decode()

                # Before TLS: no AUTH offered on submission, and AUTH refused; IMAP says LOGINDISABLED and refuses LOGIN; POP3 refuses USER.
                s = smtplib.SMTP("127.0.0.1", port("SUB"), timeout=20); s.ehlo("client.test")
                out(k="smtp-plain-ehlo-auth", v=s.has_extn("auth"))
                out(k="smtp-plain-auth", v=s.docmd("AUTH", "PLAIN " + plain)[0]); s.close()
                m = imaplib.IMAP4("127.0.0.1", port("IMAP"), timeout=20)
                out(k="imap-plain-caps", v=" ".join(m.capabilities))
                try: m.login(U, P); out(k="imap-plain-login", v="OK")
                except imaplib.IMAP4.error as e: out(k="imap-plain-login", v="NO")
                m.shutdown()
                c = socket.create_connection(("127.0.0.1", port("POP3")), timeout=20); f = c.makefile("rb"); f.readline()
                c.sendall(("USER " + U + "\r\n").encode()); out(k="pop3-plain-user", v=f.readline().decode().strip()); c.close()

                # Good sessions over TLS with every login form, so the secret and a body pass through the servers.
                s = smtplib.SMTP("127.0.0.1", port("SUB"), timeout=20); s.starttls(context=ctx); s.ehlo("client.test")
                out(k="smtp-auth-plain", v=s.docmd("AUTH", "PLAIN " + plain)[0])
                s.sendmail(U, [U], ("From: " + U + "\r\nTo: " + U + "\r\nSubject: hello\r\n\r\n" + B + "\r\n").encode()); s.quit()
                s = smtplib.SMTP_SSL("127.0.0.1", port("SUBS"), timeout=20, context=ctx); s.ehlo("client.test")
                s.docmd("AUTH", "LOGIN"); s.docmd(base64.b64encode(U.encode()).decode())
                out(k="smtp-auth-login", v=s.docmd(base64.b64encode(P.encode()).decode())[0]); s.quit()
                m = imaplib.IMAP4_SSL("127.0.0.1", port("IMAPS"), ssl_context=ctx, timeout=20); out(k="imap-login", v=m.login(U, P)[0]); m.logout()
                m = imaplib.IMAP4_SSL("127.0.0.1", port("IMAPS"), ssl_context=ctx, timeout=20)
                out(k="imap-authenticate", v=m.authenticate("PLAIN", lambda _: ("\0" + U + "\0" + P).encode())[0]); m.logout()
                p = poplib.POP3_SSL("127.0.0.1", port("POP3S"), context=ctx, timeout=20); p.user(U); out(k="pop3-pass", v=p.pass_(P).decode()[:3]); p.quit()

                # Guessing on IMAP from 127.0.0.1 until the limit (3)...
                for i in range(3):
                    m = imaplib.IMAP4_SSL("127.0.0.1", port("IMAPS"), ssl_context=ctx, timeout=20)
                    try: m.login(U, "wrong-%d" % i)
                    except imaplib.IMAP4.error: pass
                    m.shutdown()
                # ...then the right password is refused on POP3 and SMTP too, from the same address.
                p = poplib.POP3_SSL("127.0.0.1", port("POP3S"), context=ctx, timeout=20)
                try: p.user(U); p.pass_(P); out(k="pop3-after", v="+OK")
                except poplib.error_proto as e: out(k="pop3-after", v=e.args[0].decode())
                s = smtplib.SMTP_SSL("127.0.0.1", port("SUBS"), timeout=20, context=ctx); s.ehlo("client.test")
                out(k="smtp-after", v=s.docmd("AUTH", "PLAIN " + plain)[0])
                # Another address is not affected.
                raw = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port("POP3S")), timeout=20, source_address=("127.0.0.2", 0)))
                f = raw.makefile("rb"); f.readline()
                raw.sendall(("USER " + U + "\r\n").encode()); f.readline()
                raw.sendall(("PASS " + P + "\r\n").encode()); out(k="pop3-other-address", v=f.readline().decode().strip()[:3]); raw.close()
                """, script, TimeSpan.FromSeconds(120));
            Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
            var results = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToDictionary(e => e.GetProperty("k").GetString()!, e => e.GetProperty("v").ToString());
            Assert.Equal("False", results["smtp-plain-ehlo-auth"]);
            Assert.Equal("538", results["smtp-plain-auth"]); // RFC 4954: encryption required for the mechanism
            Assert.Contains("LOGINDISABLED", results["imap-plain-caps"], StringComparison.Ordinal);
            Assert.Equal("NO", results["imap-plain-login"]);
            Assert.StartsWith("-ERR", results["pop3-plain-user"], StringComparison.Ordinal);
            Assert.Equal("235", results["smtp-auth-plain"]);
            Assert.Equal("235", results["smtp-auth-login"]);
            Assert.Equal("OK", results["imap-login"]);
            Assert.Equal("OK", results["imap-authenticate"]);
            Assert.Equal("+OK", results["pop3-pass"]);
            Assert.Contains("Too many authentication failures", results["pop3-after"], StringComparison.Ordinal);
            Assert.Equal("421", results["smtp-after"]);
            Assert.Equal("+OK", results["pop3-other-address"]);
        }

        var logs = sink.Lines.ToList();
        Assert.True(logs.Count > 20, $"only {logs.Count} log lines were captured");
        var forbidden = new[]
        {
            secret,
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{secret}")),
            Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)),
            bodyMarker,
        };
        foreach (var needle in forbidden)
            Assert.DoesNotContain(logs, l => l.Contains(needle, StringComparison.Ordinal));
    }
}
