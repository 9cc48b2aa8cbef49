using System.Net;
using System.Reflection;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using MailCloud.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace MailCloud.Admin;

/// <summary>
/// The admin UI in a web host: a cookie scheme of its own (<c>mc_admin</c>, path <c>/admin</c>, HttpOnly,
/// SameSite=Strict, Secure over HTTPS, 1 h sliding), its pages and their security headers. Two kinds of session:
/// the admin token's (the whole server) and an administrator account's (a user flagged global or for their
/// domain). Every request re-checks its session: a new token ends the token's sessions; an account's session ends
/// when its password changes, it is disabled or its admin flag is taken away, and its scope follows the flag.
/// </summary>
public static class AdminHost
{
    public const string Scheme = "mailcloud-admin";

    /// <summary>Pages only the whole server's administrators see (health, queues, trace, backups).</summary>
    public const string GlobalPolicy = "mailcloud-admin-global";

    private const string TokenClaim = "mc:token";
    private const string StampClaim = "mc:stamp";

    public static void AddAdmin(IServiceCollection services, AdminServices admin)
    {
        services.AddSingleton(admin);
        services.AddAuthentication().AddCookie(Scheme, o =>
        {
            o.Cookie.Name = "mc_admin";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.Path = "/admin";
            o.LoginPath = "/admin/login";
            o.AccessDeniedPath = "/admin/denied";
            o.ExpireTimeSpan = TimeSpan.FromHours(1);
            o.SlidingExpiration = true;
            o.Events.OnValidatePrincipal = async context =>
            {
                var scope = await CurrentScopeAsync(context.Principal, admin, context.HttpContext.RequestAborted).ConfigureAwait(false);
                if (scope is null)
                {
                    context.RejectPrincipal();
                    await context.HttpContext.SignOutAsync(Scheme).ConfigureAwait(false);
                    return;
                }
                // The scope of this request comes from the directory now, not from when the cookie was made.
                var identity = new ClaimsIdentity(context.Principal!.Claims.Where(c => c.Type != AdminScope.ClaimType).Append(scope.ToClaim()), Scheme);
                context.ReplacePrincipal(new ClaimsPrincipal(identity));
            };
        });
        services.AddAuthorization(o =>
        {
            o.AddPolicy(Scheme, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser());
            o.AddPolicy(GlobalPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser().RequireClaim(AdminScope.ClaimType, AdminScope.Global.Value));
        });
        MailCloud.Protocols.WebAntiforgery.Add(services);
        services.AddRazorPages().AddApplicationPart(typeof(AdminHost).Assembly);
    }

    /// <summary>What the session may administer now, or null when it is no longer valid.</summary>
    private static async Task<AdminScope?> CurrentScopeAsync(ClaimsPrincipal? principal, AdminServices admin, CancellationToken cancellationToken)
    {
        if (principal?.FindFirst(TokenClaim)?.Value is { } token)
            return admin.TokenSha256 is { } hash && token == hash[..16] ? AdminScope.Global : null;
        var stamp = principal?.FindFirst(StampClaim)?.Value;
        if (stamp is null || !MailAddress.TryParse(principal?.Identity?.Name, out var address))
            return null;
        var user = await admin.Directory.GetUserAsync(address, cancellationToken).ConfigureAwait(false);
        if (user is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stamp), Encoding.ASCII.GetBytes(user.CredentialStamp)))
            return null;
        return AdminScope.Of(user);
    }

    public static void UseAdmin(WebApplication app) =>
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/admin"), branch => branch.Use(async (context, next) =>
        {
            var h = context.Response.Headers;
            h.XContentTypeOptions = "nosniff";
            h["Referrer-Policy"] = "no-referrer";
            h.CacheControl = "no-cache, no-store";
            h.ContentSecurityPolicy = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
            h.XFrameOptions = "DENY";
            // Before authentication: a password session's check reads the directory, and storage failing there is a 503 too.
            await MailCloud.Protocols.StorageUnavailablePage.RunAsync(context, next);
        }));

    public static void MapAdmin(WebApplication app) =>
        app.MapGet("/admin/assets/admin.css", () =>
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("admin-admin.css")!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return Results.Bytes(copy.ToArray(), "text/css; charset=utf-8");
        });

    public enum Outcome { SignedIn, Failed, Throttled }

    /// <summary>Checks the admin token (constant time against its hash), throttled per address with the mail protocols' limiter.</summary>
    public static Task<Outcome> SignInWithTokenAsync(HttpContext http, AdminServices admin, string token) =>
        SignInAsync(http, admin, () => Task.FromResult<ClaimsIdentity?>(
            admin.TokenSha256 is { } hash && token.Trim().Length > 0 && AdminToken.Matches(token.Trim(), hash)
                ? new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin token"), new Claim(TokenClaim, hash[..16])], Scheme)
                : null));

    /// <summary>
    /// Signs in an administrator account with its mail password. A wrong password, an unknown or disabled user and
    /// a user without the admin flag all fail alike (and count as a failure), so the page tells no one which accounts exist.
    /// </summary>
    public static Task<Outcome> SignInWithPasswordAsync(HttpContext http, AdminServices admin, string userName, string password) =>
        SignInAsync(http, admin, async () =>
        {
            var user = await admin.Directory.VerifyPasswordAsync(userName.Trim(), password, http.RequestAborted).ConfigureAwait(false);
            return user is not null && AdminScope.Of(user) is not null
                ? new ClaimsIdentity([new Claim(ClaimTypes.Name, user.Address.Address), new Claim(StampClaim, user.CredentialStamp)], Scheme)
                : null;
        });

    private static async Task<Outcome> SignInAsync(HttpContext http, AdminServices admin, Func<Task<ClaimsIdentity?>> check)
    {
        var client = http.Connection.RemoteIpAddress ?? IPAddress.None;
        if (admin.Throttle.IsBlocked(client))
            return Outcome.Throttled;
        if (await check().ConfigureAwait(false) is not { } identity)
        {
            var delay = admin.Throttle.RecordFailure(client);
            if (delay > TimeSpan.Zero)
                await Task.Delay(delay, http.RequestAborted).ConfigureAwait(false);
            return Outcome.Failed;
        }
        admin.Throttle.RecordSuccess(client);
        await http.SignInAsync(Scheme, new ClaimsPrincipal(identity)).ConfigureAwait(false);
        return Outcome.SignedIn;
    }
}

/// <summary>What an admin session may administer: the whole server, or one domain.</summary>
public sealed record AdminScope(string Value)
{
    public const string ClaimType = "mc:scope";

    public static readonly AdminScope Global = new("*");

    public bool IsGlobal => Value == Global.Value;

    /// <summary>The one domain of a domain administrator; null for the whole server.</summary>
    public string? Domain => IsGlobal ? null : Value;

    public bool Allows(string domain) => IsGlobal || string.Equals(domain, Value, StringComparison.OrdinalIgnoreCase);

    public Claim ToClaim() => new(ClaimType, Value);

    /// <summary>The scope of an account's session; null when the user may not administer anything (or is disabled).</summary>
    public static AdminScope? Of(UserInfo user) => user.Disabled ? null : user.Role switch
    {
        AdminRole.Global => Global,
        AdminRole.Domain => new AdminScope(user.Address.Domain),
        _ => null,
    };

    /// <summary>The scope of this request's principal (set when the session was checked); null when signed out.</summary>
    public static AdminScope? Of(ClaimsPrincipal principal) => principal.FindFirst(ClaimType)?.Value is { Length: > 0 } v ? new AdminScope(v) : null;
}
