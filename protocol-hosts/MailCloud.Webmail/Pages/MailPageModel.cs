using MailCloud.Core;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.DependencyInjection;

namespace MailCloud.Webmail.Pages;

/// <summary>What every signed-in page has: the user, the folder list for the side bar, a notice or an error to show.</summary>
[Microsoft.AspNetCore.Authorization.Authorize(Policy = WebmailAuth.Scheme)]
public abstract class MailPageModel : PageModel
{
    public UserInfo Me => WebmailAuth.User(HttpContext) ?? throw new InvalidOperationException("not signed in");
    public IReadOnlyList<FolderEntry> Folders { get; private set; } = [];
    public string CurrentFolder { get; protected set; } = "INBOX";
    public string? Error { get; protected set; }

    /// <summary>Notices a redirect may name (?notice=...); anything else shows nothing, so a link cannot put words on the page.</summary>
    public string? Notice => Request.Query["notice"].ToString() switch
    {
        "sent" => "Message sent.",
        "saved" => "Draft saved.",
        "moved" => "Moved.",
        "deleted" => "Deleted.",
        "emptied" => "Folder emptied.",
        "settings" => "Settings saved.",
        "folder" => "Folders updated.",
        _ => null,
    };

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var executed = await next();
        // The side bar reflects the state after a handler that renders the page (an error on a POST shows the page again).
        if (executed.Result is PageResult && WebmailAuth.User(HttpContext) is { } user)
            Folders = await HttpContext.RequestServices.GetRequiredService<MailboxView>().FoldersAsync(user.Address, HttpContext.RequestAborted);
    }

    public string FolderLink(string folder) => "/mail?folder=" + Uri.EscapeDataString(folder);

    public string ClientAddress => HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
