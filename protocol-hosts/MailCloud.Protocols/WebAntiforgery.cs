using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace MailCloud.Protocols;

/// <summary>
/// The one antiforgery setting of a web host. Its options are host-wide, so the webmail and the admin UI (both in the
/// host of <c>./mailcloud up</c>) must agree on them: a cookie path of <c>/mail</c> set by one made every admin form
/// post fail with 400, because the browser never sent the cookie to <c>/admin</c>.
/// </summary>
public static class WebAntiforgery
{
    public const string HeaderName = "RequestVerificationToken";

    public static void Add(IServiceCollection services) => services.AddAntiforgery(o =>
    {
        o.Cookie.Name = "mc_csrf";
        o.Cookie.Path = "/";
        o.Cookie.SameSite = SameSiteMode.Strict;
        o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        o.HeaderName = HeaderName;
    });
}
