using MailCloud.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace MailCloud.Admin.Pages.Admin;

/// <summary>Every admin page: signed in with the admin token; directory errors become a message on the page.</summary>
[Authorize(Policy = AdminHost.Scheme)]
public abstract class AdminPageModel : PageModel
{
    public string? Error { get; protected set; }
    public string? Notice => Request.Query["notice"].ToString() is { Length: > 0 and < 200 } n ? n switch
    {
        "added" => "Added.", "removed" => "Removed.", "saved" => "Saved.", "replayed" => "Replayed into its queue.", "retried" => "Due now: the deliver stage picks it up within seconds.", "deleted" => "Deleted.",
        _ => null,
    } : null;

    /// <summary>Runs a change; a refused one (unknown domain, already exists, bad address) shows its reason instead.</summary>
    protected async Task<IActionResult> ChangeAsync(Func<Task> change, string redirect, Func<Task<IActionResult>> page)
    {
        try
        {
            await change();
            return Redirect(redirect);
        }
        catch (Exception e) when (e is DirectoryException or FormatException or ArgumentException)
        {
            Error = e.Message;
            return await page();
        }
    }

    protected static MailAddress Address(string? text) =>
        MailAddress.TryParse(text?.Trim(), out var a, out var error) ? a : throw new FormatException($"“{text}” is not an address: {error}");
}
