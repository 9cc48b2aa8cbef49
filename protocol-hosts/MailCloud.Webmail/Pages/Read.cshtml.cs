using MailCloud.Data;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Webmail.Pages;

public sealed class ReadModel(MessageReader reader, MailboxView view, MailboxActions actions, WebmailServices services) : MailPageModel
{
    [BindProperty(SupportsGet = true)] public string Folder { get; set; } = "INBOX";
    [BindProperty(SupportsGet = true)] public long Uid { get; set; }
    [BindProperty(SupportsGet = true)] public bool Images { get; set; }

    public RenderedMessage? Message { get; private set; }
    public bool Flagged { get; private set; }
    public DateTimeOffset Date { get; private set; }
    public int BlockedImages { get; private set; }
    public bool SenderTrusted { get; private set; }
    public IReadOnlyList<(string Folder, MessageRow Row)> Conversation { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        CurrentFolder = Folder;
        var ct = HttpContext.RequestAborted;
        var row = await services.Store.GetMessageAsync(Me.Address, Folder, Uid, MessageDetail.Listing, ct);
        if (row is null)
            return NotFound();
        var message = await reader.RenderAsync(row, ct);
        Message = message;
        // A message without a Date header shows when it arrived.
        Date = message.Date == DateTimeOffset.MinValue ? row.InternalDate : message.Date;
        Flagged = MessageFlags.Has(row.Flags, @"\Flagged");
        if (!MessageFlags.Has(row.Flags, @"\Seen"))
            await actions.SetFlagAsync(Me.Address, Folder, [Uid], @"\Seen", true, ct);
        SenderTrusted = message.SenderAddress is { } sender && (await services.Preferences.GetAsync(Me.Address, ct)).ImageSenders.Contains(sender);
        if (message.Html is { } html && !Images && !SenderTrusted)
            BlockedImages = HtmlCleaner.Clean(html, message.Mime, allowRemote: false).BlockedRemote;
        Conversation = await view.ConversationAsync(Me.Address, Folder, Uid, ct);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string act, string? target)
    {
        var ct = HttpContext.RequestAborted;
        try
        {
            switch (act)
            {
                case "flag": await actions.SetFlagAsync(Me.Address, Folder, [Uid], @"\Flagged", true, ct); return Redirect(Self);
                case "unflag": await actions.SetFlagAsync(Me.Address, Folder, [Uid], @"\Flagged", false, ct); return Redirect(Self);
                case "unread": await actions.SetFlagAsync(Me.Address, Folder, [Uid], @"\Seen", false, ct); return Redirect(FolderLink(Folder));
                case "delete": await actions.DeleteAsync(Me.Address, Folder, [Uid], ct); return Redirect(FolderLink(Folder) + "&notice=deleted");
                case "junk": await actions.JunkAsync(Me.Address, Folder, [Uid], ct); return Redirect(FolderLink(Folder) + "&notice=moved");
                case "move" when !string.IsNullOrEmpty(target): await actions.MoveAsync(Me.Address, Folder, [Uid], target, ct); return Redirect(FolderLink(Folder) + "&notice=moved");
                case "trust":
                    if (await reader.RenderAsync(Me.Address, Folder, Uid, ct) is { SenderAddress: { } sender })
                        await services.Preferences.TrustImagesFromAsync(Me.Address, sender, ct);
                    return Redirect(Self);
                default: return BadRequest();
            }
        }
        catch (MailboxActionException e)
        {
            Error = e.Message;
            return await OnGetAsync();
        }
    }

    public string Self => $"/mail/read?folder={Uri.EscapeDataString(Folder)}&uid={Uid}";
    public string Q => $"folder={Uri.EscapeDataString(Folder)}&uid={Uid}";
    public string FrameSource => $"/mail/body?{Q}{(Images ? "&images=true" : string.Empty)}";
    public string ComposeLink(string mode) => $"/mail/compose?mode={mode}&{Q}";
    public static string ReadLink(string folder, long uid) => $"/mail/read?folder={Uri.EscapeDataString(folder)}&uid={uid}";
}
