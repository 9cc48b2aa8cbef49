using System.Net;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Web;

// Container entry point: HTTP on MAILCLOUD_BIND:MAILCLOUD_WEB_PORT (TLS is the ingress's job in Azure).
var settings = new MailCloudSettings();
var port = settings.Port(MailCloudSettings.Listeners.Single(l => l.Name == "web"));
var app = WebHost.Build(new IPEndPoint(IPAddress.Parse(settings.BindAddress), port), ClientEndpoints.FromSettings(settings), StorageFactory.Account(settings),
    adminTokenSha256: settings.AdminTokenSha256, secrets: StorageFactory.Secrets(settings));
await app.RunAsync();
