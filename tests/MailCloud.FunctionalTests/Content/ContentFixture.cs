using System.Text;
using MailCloud.Filtering;
using MailCloud.FunctionalTests.Imap;
using MailCloud.Functions;
using MailCloud.Pipeline;

namespace MailCloud.FunctionalTests.Content;

/// <summary>
/// The whole local system (Azurite, SMTP, functions, IMAP) with real content engines from Debian: rspamd 3.4 and
/// clamd, on loopback ports, started here. Engine-down retries wait 1 s instead of minutes.
/// </summary>
public sealed class ContentFixture : ImapFixture
{
    public RspamdProcess Rspamd { get; } = new();
    public ClamdProcess Clamd { get; } = new();
    public RspamdClient RspamdClient { get; private set; } = null!;

    protected override bool LearnSpam => true;

    protected override async Task OnStartedAsync()
    {
        await Task.WhenAll(Rspamd.StartAsync(TimeSpan.FromSeconds(90)), Clamd.StartAsync(TimeSpan.FromSeconds(60)));
        RspamdClient = new RspamdClient(new HttpClient { Timeout = TimeSpan.FromSeconds(20) }, Rspamd.Url, Rspamd.ControllerUrl);
        await base.OnStartedAsync();
    }

    protected override PipelineSettings Configure(PipelineSettings settings) => settings with
    {
        Rspamd = RspamdClient,
        Clamd = new ClamdClient(ClamdClient.ParseEndPoint(Clamd.Address), timeout: TimeSpan.FromSeconds(20)),
        Inbound = new InboundOptions { FilterRetryDelays = [TimeSpan.FromSeconds(1)] },
    };

    protected override async Task OnStoppingAsync()
    {
        await base.OnStoppingAsync();
        await Rspamd.DisposeAsync();
        await Clamd.DisposeAsync();
    }

    /// <summary>Sends raw bytes over SMTP to the MX with python's smtplib (an unauthenticated outside sender).</summary>
    public async Task SendAsync(string sender, string rcpt, byte[] message)
    {
        var env = Env;
        env["MESSAGE"] = Convert.ToBase64String(message);
        env["SENDER"] = sender;
        env["RCPT"] = rcpt;
        var r = await ExternalProcess.PythonAsync("""
            import smtplib, os, base64
            s = smtplib.SMTP("127.0.0.1", int(os.environ["MX"]), timeout=30)
            s.sendmail(os.environ["SENDER"], [os.environ["RCPT"]], base64.b64decode(os.environ["MESSAGE"]))
            s.quit()
            """, env);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    public static byte[] Message(string to, string subject, string body, string? extraHeaders = null) => Encoding.ASCII.GetBytes(
        $"From: Sender <sender@outside.test>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Tue, 01 Dec 2026 08:00:00 +0000\r\n" +
        $"Message-ID: <{Guid.NewGuid():N}@outside.test>\r\n{extraHeaders}\r\n{body}\r\n");
}
