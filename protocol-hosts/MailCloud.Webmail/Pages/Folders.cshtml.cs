using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Webmail.Pages;

public sealed class FoldersModel(MailboxActions actions) : MailPageModel
{
    public void OnGet() => CurrentFolder = string.Empty;

    public async Task<IActionResult> OnPostAsync(string act, string? name, string? folder)
    {
        var ct = HttpContext.RequestAborted;
        try
        {
            switch (act)
            {
                case "create": await actions.CreateFolderAsync(Me.Address, name ?? string.Empty, ct); break;
                case "rename" when folder is not null: await actions.RenameFolderAsync(Me.Address, folder, name ?? string.Empty, ct); break;
                case "delete" when folder is not null: await actions.DeleteFolderAsync(Me.Address, folder, ct); break;
                case "empty" when folder is not null: await actions.EmptyAsync(Me.Address, folder, ct); break;
                default: return BadRequest();
            }
        }
        catch (MailboxActionException e)
        {
            Error = e.Message;
            return Page();
        }
        return Redirect("/mail/folders?notice=folder");
    }
}
