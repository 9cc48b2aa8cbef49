using System.Net;
using System.Reflection;
using System.Security.Claims;
using MailCloud.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace MailCloud.Admin;

/// <summary>
/// The admin UI in a web host: a cookie scheme of its own (<c>mc_admin</c>, path <c>/admin</c>, HttpOnly,
/// SameSite=Strict, Secure over HTTPS, 1 h sliding), its pages and their security headers.
/// </summary>
public static class AdminHost
{
    public const string Scheme = "mailcloud-admin";

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
            o.AccessDeniedPath = "/admin/login";
            o.ExpireTimeSpan = TimeSpan.FromHours(1);
            o.SlidingExpiration = true;
            // The token's hash is part of the session: configuring a new token ends every admin session.
            o.Events.OnValidatePrincipal = async context =>
            {
                if (context.Principal?.FindFirst("mc:token")?.Value != admin.TokenSha256[..16])
                {
                    context.RejectPrincipal();
                    await context.HttpContext.SignOutAsync(Scheme);
                }
            };
        });
        services.AddAuthorization(o => o.AddPolicy(Scheme, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser()));
        services.AddAntiforgery();
        services.AddRazorPages().AddApplicationPart(typeof(AdminHost).Assembly);
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
            await next(context);
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
    public static async Task<Outcome> SignInAsync(HttpContext http, AdminServices admin, string token)
    {
        var client = http.Connection.RemoteIpAddress ?? IPAddress.None;
        if (admin.Throttle.IsBlocked(client))
            return Outcome.Throttled;
        if (string.IsNullOrEmpty(token) || !AdminToken.Matches(token.Trim(), admin.TokenSha256))
        {
            var delay = admin.Throttle.RecordFailure(client);
            if (delay > TimeSpan.Zero)
                await Task.Delay(delay, http.RequestAborted);
            return Outcome.Failed;
        }
        admin.Throttle.RecordSuccess(client);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin"), new Claim("mc:token", admin.TokenSha256[..16])], Scheme);
        await http.SignInAsync(Scheme, new ClaimsPrincipal(identity));
        return Outcome.SignedIn;
    }
}
