using System.Net;
using System.Security;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using MailCloud.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MailCloud.Web;

/// <summary>Where mail clients should connect, as autoconfiguration documents tell them (public host name and ports).</summary>
public sealed record ClientEndpoints(string HostName, int Imaps, int Imap, int Pop3s, int Submissions, int Submission)
{
    public static ClientEndpoints FromSettings(MailCloudSettings settings)
    {
        int Port(string name) => settings.Port(MailCloudSettings.Listeners.Single(l => l.Name == name));
        return new(settings.HostName, Port("imaps"), Port("imap"), Port("pop3s"), Port("submissions"), Port("submission"));
    }
}

/// <summary>
/// The HTTP front end: <c>/healthz</c> (storage reachable?), Thunderbird autoconfig
/// (<c>/mail/config-v1.1.xml</c>, also under <c>/.well-known/autoconfig/</c>) and Outlook autodiscover
/// (<c>/autodiscover/autodiscover.xml</c>), the token-guarded admin API (<see cref="AdminApi"/>) and, when given its
/// services, the webmail at <c>/mail</c> (<see cref="Webmail.WebmailHost"/>).
/// </summary>
public static class WebHost
{
    /// <param name="adminTokenSha256">SHA-256 (hex) of the admin API's bearer token; null keeps the API off.</param>
    public static WebApplication Build(IPEndPoint endPoint, ClientEndpoints endpoints, StorageAccount account, Action<ILoggingBuilder>? logging = null,
        string? adminTokenSha256 = null, ISecretStore? secrets = null, MailboxChangeHub? changes = null, string? pushKey = null, AuthThrottle? throttle = null,
        Webmail.WebmailServices? webmail = null, (IPEndPoint EndPoint, ServerCertificate Certificate)? https = null, Admin.AdminServices? admin = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        ProtocolHost.ConfigureLogging(builder.Logging, logging);
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(endPoint);
            // HTTPS with the mail protocols' certificate (renewals picked up per handshake, as they are for IMAP and SMTP).
            if (https is { } tls)
                k.Listen(tls.EndPoint, o => o.UseHttps(h => h.ServerCertificateSelector = (_, _) => tls.Certificate.Current));
        });
        if (webmail is not null)
            Webmail.WebmailHost.AddWebmail(builder.Services, webmail);
        if (admin is not null)
            Admin.AdminHost.AddAdmin(builder.Services, admin);
        var app = builder.Build();
        if (webmail is not null || admin is not null)
        {
            if (webmail is not null)
                Webmail.WebmailHost.UseWebmail(app);
            if (admin is not null)
                Admin.AdminHost.UseAdmin(app);
            app.UseAuthentication();
            app.UseAuthorization();
            app.MapRazorPages();
            if (webmail is not null)
            {
                Webmail.WebmailHost.MapWebmail(app);
                app.MapGet("/", () => Results.Redirect("/mail"));
            }
            if (admin is not null)
                Admin.AdminHost.MapAdmin(app);
        }

        app.MapGet("/healthz", async (CancellationToken ct) =>
        {
            try
            {
                await StorageProvisioner.ProbeAsync(account, ct);
                return Results.Json(new { status = "ok" });
            }
            catch (Exception e) when (StorageErrors.IsStorageFailure(e))
            {
                return Results.Json(new { status = "storage unreachable" }, statusCode: 503);
            }
        });

        IResult Autoconfig(string? emailaddress) => Results.Text(ThunderbirdConfig(endpoints, emailaddress), "application/xml; charset=utf-8");
        app.MapGet("/mail/config-v1.1.xml", (string? emailaddress) => Autoconfig(emailaddress));
        app.MapGet("/.well-known/autoconfig/mail/config-v1.1.xml", (string? emailaddress) => Autoconfig(emailaddress));
        app.MapPost("/autodiscover/autodiscover.xml", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            var email = System.Text.RegularExpressions.Regex.Match(body, "<EMailAddress>([^<]{1,320})</EMailAddress>").Groups[1].Value;
            return Results.Text(OutlookAutodiscover(endpoints, email), "application/xml; charset=utf-8");
        });
        AdminApi.Map(app, StorageProvisioner.Directory(account, secrets), adminTokenSha256, throttle ?? new AuthThrottle(maxFailures: 10), new QuarantineStore(account), account);
        if (changes is not null && pushKey is not null)
            MapPush(app, changes, AdminToken.Hash(pushKey));
        return app;
    }

    /// <summary>
    /// The push endpoint the index function calls after adding a message (<see cref="HttpMailboxChangeNotifier"/>):
    /// the key is compared in constant time, the body names only a user and a folder, and the answer is 204 at once.
    /// </summary>
    private static void MapPush(WebApplication app, MailboxChangeHub changes, string keySha256)
    {
        app.MapPost(HttpMailboxChangeNotifier.Path, (HttpRequest request, MailboxChangedHint? hint) =>
        {
            if (request.Headers[HttpMailboxChangeNotifier.KeyHeader].ToString() is not { Length: > 0 } key || !AdminToken.Matches(key, keySha256))
                return Results.StatusCode(StatusCodes.Status403Forbidden);
            if (hint is null || !MailAddress.TryParse(hint.User, out var user) || string.IsNullOrEmpty(hint.Folder) || hint.Folder.Length > 1024)
                return Results.BadRequest();
            changes.Publish(user, hint.Folder);
            return Results.NoContent();
        });
    }

    /// <summary>Thunderbird's autoconfig format (config-v1.1): IMAP and POP3 over TLS, submission with implicit TLS and STARTTLS.</summary>
    public static string ThunderbirdConfig(ClientEndpoints e, string? email)
    {
        var domain = email is not null && email.Contains('@', StringComparison.Ordinal) ? email[(email.LastIndexOf('@') + 1)..] : e.HostName;
        string X(string s) => SecurityElement.Escape(s);
        string Server(string kind, string type, int port, string socket) => $"""
                <{kind} type="{type}">
                  <hostname>{X(e.HostName)}</hostname>
                  <port>{port}</port>
                  <socketType>{socket}</socketType>
                  <authentication>password-cleartext</authentication>
                  <username>%EMAILADDRESS%</username>
                </{kind}>
            """;
        return $"""
            <?xml version="1.0" encoding="UTF-8"?>
            <clientConfig version="1.1">
              <emailProvider id="{X(domain)}">
                <domain>{X(domain)}</domain>
                <displayName>MailCloud ({X(domain)})</displayName>
            {Server("incomingServer", "imap", e.Imaps, "SSL")}
            {Server("incomingServer", "imap", e.Imap, "STARTTLS")}
            {Server("incomingServer", "pop3", e.Pop3s, "SSL")}
            {Server("outgoingServer", "smtp", e.Submissions, "SSL")}
            {Server("outgoingServer", "smtp", e.Submission, "STARTTLS")}
              </emailProvider>
            </clientConfig>
            """;
    }

    /// <summary>Outlook's POX autodiscover answer (MS-OXDSCLI) with the IMAP and SMTP settings.</summary>
    public static string OutlookAutodiscover(ClientEndpoints e, string email)
    {
        string X(string s) => SecurityElement.Escape(s);
        return $"""
            <?xml version="1.0" encoding="utf-8"?>
            <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
              <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
                <Account>
                  <AccountType>email</AccountType>
                  <Action>settings</Action>
                  <Protocol>
                    <Type>IMAP</Type>
                    <Server>{X(e.HostName)}</Server>
                    <Port>{e.Imaps}</Port>
                    <LoginName>{X(email)}</LoginName>
                    <SPA>off</SPA>
                    <SSL>on</SSL>
                    <AuthRequired>on</AuthRequired>
                  </Protocol>
                  <Protocol>
                    <Type>SMTP</Type>
                    <Server>{X(e.HostName)}</Server>
                    <Port>{e.Submissions}</Port>
                    <LoginName>{X(email)}</LoginName>
                    <SPA>off</SPA>
                    <SSL>on</SSL>
                    <AuthRequired>on</AuthRequired>
                  </Protocol>
                </Account>
              </Response>
            </Autodiscover>
            """;
    }
}
