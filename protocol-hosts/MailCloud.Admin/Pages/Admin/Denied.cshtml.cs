using Microsoft.AspNetCore.Http;

namespace MailCloud.Admin.Pages.Admin;

/// <summary>Where a page outside the session's scope sends it (a domain administrator on a server-wide page).</summary>
public sealed class DeniedModel : AdminPageModel
{
    public void OnGet() => Response.StatusCode = StatusCodes.Status403Forbidden;
}
