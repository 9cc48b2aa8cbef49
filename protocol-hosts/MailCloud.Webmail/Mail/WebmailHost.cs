using MailCloud.Core;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace MailCloud.Webmail;

/// <summary>
/// Puts the webmail into a web host: services, cookie sign-in, antiforgery, Razor Pages under <c>/mail</c>, the
/// endpoints pages call (message frame, parts, raw source, uploads, change events), and the security headers.
/// </summary>
public static class WebmailHost
{
    public static void AddWebmail(IServiceCollection services, WebmailServices webmail)
    {
        services.AddSingleton(webmail);
        services.AddSingleton<MailboxView>();
        services.AddSingleton<MailboxActions>();
        services.AddSingleton<Composer>();
        services.AddSingleton<MessageReader>();
        services.AddAuthentication(WebmailAuth.Scheme).AddCookie(WebmailAuth.Scheme, o => WebmailAuth.Configure(o, webmail.Options));
        services.AddAuthorization(o => o.AddPolicy(WebmailAuth.Scheme, p => p.AddAuthenticationSchemes(WebmailAuth.Scheme).RequireAuthenticatedUser()));
        if (webmail.KeyRing is { } keys)
        {
            services.AddDataProtection().SetApplicationName("MailCloud.Webmail");
            services.Configure<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>(o => o.XmlRepository = keys);
        }
        MailCloud.Protocols.WebAntiforgery.Add(services);
        services.Configure<FormOptions>(o => o.MultipartBodyLengthLimit = webmail.Options.MaxMessageSize * 2);
        // Pages ask for the webmail policy themselves ([Authorize] on MailPageModel), so other page sets in the host
        // (the admin UI) keep their own.
        services.AddRazorPages().AddApplicationPart(typeof(WebmailHost).Assembly);
    }

    /// <summary>The webmail's response headers and storage-failure page; before authentication in the pipeline.</summary>
    public static void UseWebmail(WebApplication app)
    {
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/mail"), branch => branch.Use(async (context, next) =>
        {
            var h = context.Response.Headers;
            // Server time of every webmail response (browser dev tools show it; the benchmark reads it).
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            context.Response.OnStarting(() =>
            {
                var ms = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                context.Response.Headers["Server-Timing"] = "app;dur=" + ms.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
                return Task.CompletedTask;
            });
            h.XContentTypeOptions = "nosniff";
            h["Referrer-Policy"] = "no-referrer";
            h.CacheControl = "no-cache, no-store";
            h.Pragma = "no-cache";
            // Pages: only our own script and styles, no plugins, framed by nobody. The message frame and parts replace it with their own.
            h.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
            h.XFrameOptions = "DENY";
            await MailCloud.Protocols.StorageUnavailablePage.RunAsync(context, next);
        }));
    }

    /// <summary>The non-page endpoints; the host maps the Razor Pages once for every page set.</summary>
    public static void MapWebmail(WebApplication app) => WebmailEndpoints.Map(app);

    /// <summary>Checks the antiforgery token of a request a page's script makes (header RequestVerificationToken).</summary>
    internal static async Task<bool> ValidAsync(HttpContext context)
    {
        try
        {
            await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context);
            return true;
        }
        catch (AntiforgeryValidationException)
        {
            return false;
        }
    }

}
