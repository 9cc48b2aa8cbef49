using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace MailCloud.Admin.Pages.Admin;

public sealed class LoginModel(AdminServices admin) : PageModel
{
    public string? Message { get; private set; }

    /// <summary>The token form is offered only when a token is configured.</summary>
    public bool TokenSignIn => admin.TokenSha256 is not null;

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostTokenAsync(string? token) =>
        Answer(TokenSignIn ? await AdminHost.SignInWithTokenAsync(HttpContext, admin, token ?? string.Empty) : AdminHost.Outcome.Failed, "That is not the admin token.");

    public async Task<IActionResult> OnPostAccountAsync(string? user, string? password) =>
        Answer(await AdminHost.SignInWithPasswordAsync(HttpContext, admin, user ?? string.Empty, password ?? string.Empty),
            "Wrong address or password, or the account is not an administrator.");

    private IActionResult Answer(AdminHost.Outcome outcome, string failure)
    {
        switch (outcome)
        {
            case AdminHost.Outcome.SignedIn:
                return LocalRedirect("/admin");
            case AdminHost.Outcome.Throttled:
                Message = "Too many failed sign-ins from your address. Try again later.";
                Response.StatusCode = StatusCodes.Status429TooManyRequests;
                return Page();
            default:
                Message = failure;
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
