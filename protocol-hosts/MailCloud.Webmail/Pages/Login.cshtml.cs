using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace MailCloud.Webmail.Pages;

public sealed class LoginModel(WebmailServices services) : PageModel
{
    public string? Message { get; private set; }
    public string? UserName { get; private set; }
    public string? ReturnUrl { get; private set; }

    public void OnGet(string? returnUrl) => ReturnUrl = returnUrl;

    public async Task<IActionResult> OnPostAsync(string user, string password, string? returnUrl)
    {
        UserName = user;
        ReturnUrl = returnUrl;
        switch (await WebmailAuth.SignInAsync(HttpContext, services, user ?? string.Empty, password ?? string.Empty))
        {
            case WebmailAuth.Outcome.SignedIn:
                // Only a path of ours: a sign-in link must not send the user elsewhere.
                return LocalRedirect(returnUrl is { } r && r.StartsWith("/mail", StringComparison.Ordinal) && !r.StartsWith("//", StringComparison.Ordinal) ? r : "/mail");
            case WebmailAuth.Outcome.Throttled:
                Message = "Too many failed sign-ins from your address. Try again later.";
                Response.StatusCode = StatusCodes.Status429TooManyRequests;
                return Page();
            default:
                Message = "Wrong address or password.";
                Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Page();
        }
    }
}

[Microsoft.AspNetCore.Authorization.Authorize(Policy = WebmailAuth.Scheme)]
public sealed class LogoutModel : PageModel
{
    public IActionResult OnGet() => Redirect("/mail");

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(WebmailAuth.Scheme);
        return Redirect("/mail/login");
    }
}
