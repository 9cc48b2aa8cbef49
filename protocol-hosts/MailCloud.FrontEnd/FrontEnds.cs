using System.Net;
using MailCloud.Core;
using MailCloud.Imap;
using MailCloud.Pop3;
using MailCloud.Protocols;
using MailCloud.Smtp;
using MailCloud.Storage;
using MailCloud.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace MailCloud.FrontEnd;

/// <summary>
/// The front ends of one process, started together: SMTP first (so it drains last), then POP3, IMAP and the web host.
/// The container entry point and <c>./mailcloud up</c> both run them through here.
/// </summary>
public sealed class FrontEnds : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = [];
    private OpenTelemetry.Metrics.MeterProvider? _metrics;
    private Data.QueueMetrics? _queueMetrics;
    private readonly HashSet<string> _listening = new(StringComparer.Ordinal);

    private FrontEnds()
    {
    }

    /// <summary>The listener names that are open (<see cref="MailCloudSettings.Listeners"/>); implicit-TLS ones need a certificate.</summary>
    public IReadOnlySet<string> Listening => _listening;

    public static async Task<FrontEnds> StartAsync(MailCloudSettings settings, StorageAccount account, ServerCertificate? certificate, IReadOnlyList<string> protocols,
        ISecretStore? secrets = null, Action<ILoggingBuilder>? logging = null, MailboxChangeHub? changes = null, CancellationToken cancellationToken = default)
    {
        var running = new FrontEnds();
        // Metrics over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; the queue gauges come from the process that serves the web front end.
        running._metrics = Telemetry.MetricsExport.Start(settings.Variable, "mailcloud-frontend");
        if (running._metrics is not null && protocols.Contains("web"))
            running._queueMetrics = new Data.QueueMetrics(account, TimeSpan.FromSeconds(30));
        // The web host's push endpoint and the IMAP host meet here; `up` passes the hub its functions publish to.
        changes ??= new MailboxChangeHub();
        // One login throttle for every protocol: failures on IMAP count against the same address on POP3, SMTP AUTH
        // and the admin API. (Front ends split into separate processes each keep their own.)
        var throttle = new AuthThrottle(settings.AuthMaxFailures, delayPerFailure: settings.AuthFailureDelay);
        try
        {
            if (protocols.Contains("smtp"))
            {
                var options = SmtpServerHost.OptionsFromSettings(settings, certificate);
                await running.StartAsync(SmtpServerHost.Build(options, account, logging, throttle: throttle), options.Listeners.Select(l => l.Name), cancellationToken).ConfigureAwait(false);
            }
            if (protocols.Contains("pop3"))
            {
                var options = Pop3ServerHost.OptionsFromSettings(settings, certificate);
                await running.StartAsync(Pop3ServerHost.Build(options, account, logging, throttle), options.Listeners.Select(l => l.Name), cancellationToken).ConfigureAwait(false);
            }
            if (protocols.Contains("imap"))
            {
                var options = ImapServerHost.OptionsFromSettings(settings, certificate);
                await running.StartAsync(ImapServerHost.Build(options, account, logging, changes, throttle), options.Listeners.Select(l => l.Name), cancellationToken).ConfigureAwait(false);
            }
            if (protocols.Contains("web"))
            {
                var port = settings.Port(MailCloudSettings.Listeners.Single(l => l.Name == "web"));
                // Webmail: the same directory, mailbox store, spool and login throttle as the mail protocols of this process;
                // its changes go on the hub IMAP IDLE listens to.
                var webmail = Webmail.WebmailServices.Create(account, Data.StorageProvisioner.Directory(account, secrets), throttle, changes,
                    new Webmail.WebmailOptions { HostName = settings.HostName, MaxMessageSize = new SmtpServerOptions().MaxMessageSize }, settings.SpamLearning);
                var https = certificate is null ? ((IPEndPoint, ServerCertificate)?)null
                    : (new IPEndPoint(IPAddress.Parse(settings.BindAddress), settings.Port(MailCloudSettings.Listeners.Single(l => l.Name == "webs"))), certificate);
                // The admin UI at /admin: sign-in by the admin token when one is configured, and by users flagged as administrators.
                var admin = Admin.AdminServices.Create(account, Data.StorageProvisioner.Directory(account, secrets), throttle, settings.AdminTokenSha256, settings.HostName);
                var web = WebHost.Build(new IPEndPoint(IPAddress.Parse(settings.BindAddress), port), ClientEndpoints.FromSettings(settings), account, logging,
                    adminTokenSha256: settings.AdminTokenSha256, secrets: secrets, changes: changes, pushKey: settings.PushKey, throttle: throttle, webmail: webmail, https: https, admin: admin);
                await running.StartAsync(web, certificate is null ? ["web"] : ["web", "webs"], cancellationToken).ConfigureAwait(false);
            }
            return running;
        }
        catch
        {
            await running.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartAsync(WebApplication app, IEnumerable<string> listeners, CancellationToken cancellationToken)
    {
        _apps.Add(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _listening.UnionWith(listeners);
    }

    /// <summary>Stops in reverse order; Kestrel drains connections, so SMTP transactions in flight finish first.</summary>
    public async ValueTask DisposeAsync()
    {
        for (int i = _apps.Count - 1; i >= 0; i--)
        {
            await _apps[i].StopAsync(CancellationToken.None).ConfigureAwait(false);
            await _apps[i].DisposeAsync().ConfigureAwait(false);
        }
        _apps.Clear();
        if (_queueMetrics is not null)
            await _queueMetrics.DisposeAsync().ConfigureAwait(false);
        _metrics?.Dispose(); // flushes a last export
    }
}
