using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using MailCloud.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;

namespace MailCloud.Webmail;

/// <summary>
/// Sign-in with the mail password, checked against the stored SCRAM verifier (the password itself is stored
/// nowhere), throttled per client address by the limiter IMAP, POP3 and SMTP AUTH share. The session is a cookie
/// (HttpOnly, SameSite=Strict, Secure on HTTPS) carrying the user and a stamp of their current verifier: every
/// request re-reads the user, so a changed password or a disabled account ends every session at once.
/// </summary>
public static class WebmailAuth
{
    public const string Scheme = "mailcloud-webmail";
    public const string CookieName = "mc_session";
    private const string StampClaim = "mc:stamp";

    public static void Configure(CookieAuthenticationOptions o, WebmailOptions options)
    {
        o.Cookie.Name = CookieName;
        o.Cookie.HttpOnly = true;
        o.Cookie.SameSite = SameSiteMode.Strict;
        o.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
        o.Cookie.Path = "/mail";
        o.LoginPath = "/mail/login";
        o.LogoutPath = "/mail/logout";
        o.AccessDeniedPath = "/mail/login";
        o.ExpireTimeSpan = options.SessionLifetime;
        o.SlidingExpiration = true;
        o.Events.OnValidatePrincipal = async context =>
        {
            var services = context.HttpContext.RequestServices.GetService(typeof(WebmailServices)) as WebmailServices;
            var name = context.Principal?.Identity?.Name;
            var stamp = context.Principal?.FindFirst(StampClaim)?.Value;
            UserInfo? user = null;
            if (services is not null && MailAddress.TryParse(name, out var address))
                user = await services.Directory.GetUserAsync(address, context.HttpContext.RequestAborted).ConfigureAwait(false);
            if (user is null || user.Disabled || stamp is null || !CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(stamp), System.Text.Encoding.ASCII.GetBytes(user.CredentialStamp)))
            {
                context.RejectPrincipal();
                await context.HttpContext.SignOutAsync(Scheme).ConfigureAwait(false);
                return;
            }
            context.HttpContext.Items[typeof(UserInfo)] = user;
        };
    }

    public enum Outcome { SignedIn, Failed, Throttled }

    public static async Task<Outcome> SignInAsync(HttpContext http, WebmailServices services, string userName, string password)
    {
        var client = http.Connection.RemoteIpAddress ?? IPAddress.None;
        if (services.Throttle.IsBlocked(client))
            return Outcome.Throttled;
        var user = await services.Directory.VerifyPasswordAsync(userName.Trim(), password, http.RequestAborted).ConfigureAwait(false);
        if (user is null)
        {
            var delay = services.Throttle.RecordFailure(client);
            if (delay > TimeSpan.Zero)
                await Task.Delay(delay, http.RequestAborted).ConfigureAwait(false);
            return Outcome.Failed;
        }
        services.Throttle.RecordSuccess(client);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user.Address.Address), new Claim(StampClaim, user.CredentialStamp)], Scheme);
        await http.SignInAsync(Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false }).ConfigureAwait(false);
        return Outcome.SignedIn;
    }

    /// <summary>The signed-in user of this request (read by the validation above); null when signed out.</summary>
    public static UserInfo? User(HttpContext http) => http.Items.TryGetValue(typeof(UserInfo), out var u) ? u as UserInfo : null;
}
