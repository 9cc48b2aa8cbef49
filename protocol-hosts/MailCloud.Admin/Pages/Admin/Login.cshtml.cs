using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace MailCloud.Admin.Pages.Admin;

public sealed class LoginModel(AdminServices admin) : PageModel
{
    public string? Message { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(string? token)
    {
        switch (await AdminHost.SignInAsync(HttpContext, admin, token ?? string.Empty))
        {
            case AdminHost.Outcome.SignedIn:
                return LocalRedirect("/admin");
            case AdminHost.Outcome.Throttled:
                Message = "Too many failed sign-ins from your address. Try again later.";
                Response.StatusCode = StatusCodes.Status429TooManyRequests;
                return Page();
            default:
                Message = "That is not the admin token.";
                Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Page();
        }
    }
}

[Authorize(Policy = AdminHost.Scheme)]
public sealed class LogoutModel : PageModel
{
    public IActionResult OnGet() => Redirect("/admin");

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(AdminHost.Scheme);
        return Redirect("/admin/login");
    }
}
