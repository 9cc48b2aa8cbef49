using System.Globalization;
using System.Net;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.LocalDev;
using MailCloud.Smtp;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Smtp;

/// <summary>
/// An account disabled while its submission session is open sends nothing more: the next MAIL is refused with
/// 530 5.7.0, AUTH again is refused, and the session itself goes on (NOOP, QUIT). python smtplib over implicit TLS
/// on a host of its own whose directory cache is off, so the disable is seen at the next command (the default
/// 30 s cache delays it by up to that, as for IMAP and POP3).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class SmtpDisabledUserTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_user_disabled_mid_session_gets_530_at_the_next_mail_and_the_session_goes_on()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var directory = StorageProvisioner.Directory(account);
        var domain = AzuriteFixture.UniqueName("disabled") + ".test";
        await directory.AddDomainAsync(domain);
        var dan = MailAddress.Parse("dan@" + domain);
        await directory.AddUserAsync(dan, SmtpFixture.Password);

        int port = AzuriteProcess.FreePort();
        var data = Path.Combine(Path.GetTempPath(), "mailcloud-smtp-disabled", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        var options = new SmtpServerOptions { HostName = "mx.disabled.test", DirectoryCacheTtl = TimeSpan.Zero, Certificate = DevCertificate.LoadOrCreate(Path.Combine(data, "tls.pfx")) };
        options.Listeners.Add(new SmtpListener("submissions", new IPEndPoint(IPAddress.Loopback, port), SmtpListenerRole.Submission, true));
        var app = SmtpServerHost.Build(options, account, l => l.AddFilter(_ => false));
        await app.StartAsync();
        try
        {
            // The script signs in and sends one message, then waits for the test to disable the account.
            var signal = Path.Combine(data, "disabled");
            var env = new Dictionary<string, string> { ["PORT"] = port.ToString(CultureInfo.InvariantCulture), ["U"] = dan.Address, ["P"] = SmtpFixture.Password, ["SIGNAL"] = signal };
            var run = ExternalProcess.PythonAsync("""
                import smtplib, ssl, os, time, json
                ctx = ssl._create_unverified_context()
                s = smtplib.SMTP_SSL("127.0.0.1", int(os.environ["PORT"]), timeout=30, context=ctx)
                s.login(os.environ["U"], os.environ["P"])
                first = s.sendmail(os.environ["U"], ["someone@elsewhere.example"], b"Subject: before\r\n\r\nsent\r\n")
                open(os.environ["SIGNAL"] + ".ready", "w").close()
                while not os.path.exists(os.environ["SIGNAL"]):
                    time.sleep(0.05)
                mail = s.docmd("MAIL", "FROM:<" + os.environ["U"] + ">")
                try:
                    s.login(os.environ["U"], os.environ["P"]); again = "accepted"
                except smtplib.SMTPAuthenticationError as e:
                    again = e.smtp_code
                noop = s.noop()
                s.quit()
                print(json.dumps({"first": len(first), "mail": [mail[0], mail[1].decode()], "again": again, "noop": noop[0]}))
                """, env, TimeSpan.FromSeconds(60));
            for (int waited = 0; !File.Exists(signal + ".ready") && !run.IsCompleted && waited < 600; waited++)
                await Task.Delay(50);
            await directory.SetDisabledAsync(dan, true);
            await File.WriteAllTextAsync(signal, string.Empty);
            var r = await run;
            Assert.True(r.ExitCode == 0, r.Stderr);
            var json = System.Text.Json.JsonDocument.Parse(r.Stdout).RootElement;
            Assert.Equal(0, json.GetProperty("first").GetInt32()); // sendmail's map of refused recipients: empty
            Assert.Equal(530, json.GetProperty("mail")[0].GetInt32());
            Assert.StartsWith("5.7.0", json.GetProperty("mail")[1].GetString(), StringComparison.Ordinal);
            Assert.Equal(535, json.GetProperty("again").GetInt32());
            Assert.Equal(250, json.GetProperty("noop").GetInt32());
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
