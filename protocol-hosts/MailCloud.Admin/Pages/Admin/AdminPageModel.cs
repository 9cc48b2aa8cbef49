using MailCloud.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace MailCloud.Admin.Pages.Admin;

/// <summary>
/// Every admin page: signed in with the admin token or as an administrator account. A page about one domain names
/// it in <see cref="ScopedDomain"/> and a domain administrator of another domain is refused before any handler
/// runs; directory errors become a message on the page.
/// </summary>
[Authorize(Policy = AdminHost.Scheme)]
public abstract class AdminPageModel : PageModel
{
    public string? Error { get; protected set; }
    public string? Notice => Request.Query["notice"].ToString() is { Length: > 0 and < 200 } n ? n switch
    {
        "added" => "Added.", "removed" => "Removed.", "saved" => "Saved.", "replayed" => "Replayed into its queue.", "retried" => "Due now: the deliver stage picks it up within seconds.", "deleted" => "Deleted.",
        "released" => "Released: it is delivered within seconds.",
        _ => null,
    } : null;

    /// <summary>What this session may administer (set by the session check of every request).</summary>
    public AdminScope Scope => AdminScope.Of(User) ?? throw new InvalidOperationException("an admin page without an admin session");

    /// <summary>The domain this page is about, for the scope check; null for pages that filter by <see cref="Scope"/> themselves.</summary>
    protected virtual string? ScopedDomain => null;

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        if (ScopedDomain is { } domain && !Scope.Allows(domain))
        {
            context.Result = Forbid(AdminHost.Scheme);
            return;
        }
        await next();
    }

    /// <summary>Runs a change; a refused one (unknown domain, already exists, bad address) shows its reason instead.</summary>
    protected async Task<IActionResult> ChangeAsync(Func<Task> change, string redirect, Func<Task<IActionResult>> page)
    {
        try
        {
            await change();
            return Redirect(redirect);
        }
        catch (Exception e) when (e is DirectoryException or FormatException or ArgumentException or UnauthorizedAccessException)
        {
            Error = e.Message;
            return await page();
        }
    }

    protected static MailAddress Address(string? text) =>
        MailAddress.TryParse(text?.Trim(), out var a, out var error) ? a : throw new FormatException($"“{text}” is not an address: {error}");

    /// <summary>An address of this page's domain: a form cannot reach into another domain by naming one of its addresses.</summary>
    protected MailAddress AddressIn(string domain, string? text)
    {
        var a = Address(text);
        return string.Equals(a.Domain, domain, StringComparison.OrdinalIgnoreCase) ? a : throw new ArgumentException($"{a} is not in {domain}.");
    }
}
