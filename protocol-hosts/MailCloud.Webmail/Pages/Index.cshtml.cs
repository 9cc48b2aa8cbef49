using System.Globalization;
using MailCloud.Data;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Webmail.Pages;

public sealed class IndexModel(MailboxView view, MailboxActions actions) : MailPageModel
{
    [BindProperty(SupportsGet = true)] public string Folder { get; set; } = "INBOX";
    [BindProperty(SupportsGet = true, Name = "p")] public int PageNumber { get; set; }
    [BindProperty(SupportsGet = true)] public string Sort { get; set; } = "date";
    [BindProperty(SupportsGet = true)] public string Dir { get; set; } = "desc";
    [BindProperty(SupportsGet = true)] public bool Threads { get; set; }
    [BindProperty(SupportsGet = true)] public string? Q { get; set; }
    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Subject { get; set; }
    [BindProperty(SupportsGet = true)] public string? Body { get; set; }
    [BindProperty(SupportsGet = true)] public DateOnly? Since { get; set; }
    [BindProperty(SupportsGet = true)] public DateOnly? Before { get; set; }

    public MessagePage? List { get; private set; }
    public SearchCriteria Criteria => new(From, To, Subject, Body, Since, Before, Q);
    public bool Searching => !Criteria.IsEmpty;

    public async Task<IActionResult> OnGetAsync()
    {
        CurrentFolder = Folder;
        var sort = Sort switch { "from" => ListSort.From, "subject" => ListSort.Subject, "size" => ListSort.Size, _ => ListSort.Date };
        try
        {
            List = await view.PageAsync(Me.Address, new ListQuery(Folder, PageNumber, sort, Dir != "asc", Criteria, Threads), HttpContext.RequestAborted);
        }
        catch (FolderNotFoundException)
        {
            return NotFound();
        }
        return Page();
    }

    /// <summary>The toolbar's actions on the ticked messages (and the drag-and-drop move, which posts the same form).</summary>
    public async Task<IActionResult> OnPostActAsync(string act, long[] uid, string? target)
    {
        var ct = HttpContext.RequestAborted;
        var notice = "moved";
        try
        {
            switch (act)
            {
                case "read": await actions.SetFlagAsync(Me.Address, Folder, uid, @"\Seen", true, ct); notice = ""; break;
                case "unread": await actions.SetFlagAsync(Me.Address, Folder, uid, @"\Seen", false, ct); notice = ""; break;
                case "flag": await actions.SetFlagAsync(Me.Address, Folder, uid, @"\Flagged", true, ct); notice = ""; break;
                case "unflag": await actions.SetFlagAsync(Me.Address, Folder, uid, @"\Flagged", false, ct); notice = ""; break;
                case "delete": await actions.DeleteAsync(Me.Address, Folder, uid, ct); notice = "deleted"; break;
                case "junk": await actions.JunkAsync(Me.Address, Folder, uid, ct); break;
                case "move" when !string.IsNullOrEmpty(target): await actions.MoveAsync(Me.Address, Folder, uid, target, ct); break;
                case "empty": await actions.EmptyAsync(Me.Address, Folder, ct); notice = "emptied"; break;
                default: return BadRequest();
            }
        }
        catch (MailboxActionException e)
        {
            Error = e.Message;
            return await OnGetAsync();
        }
        if (Request.Headers["X-Requested-With"] == "fetch")
            return new NoContentResult();
        return Redirect(Link(PageNumber) + (notice.Length > 0 ? "&notice=" + notice : string.Empty));
    }

    public string Link(int page, string? sort = null, string? dir = null, bool? threads = null)
    {
        var q = new List<string> { "folder=" + Uri.EscapeDataString(Folder) };
        void Add(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
                q.Add(name + "=" + Uri.EscapeDataString(value));
        }
        if (page > 0)
            Add("p", page.ToString(CultureInfo.InvariantCulture));
        Add("sort", (sort ?? Sort) == "date" ? null : sort ?? Sort);
        Add("dir", (dir ?? Dir) == "desc" ? null : dir ?? Dir);
        if (threads ?? Threads)
            Add("threads", "true");
        Add("q", Q); Add("from", From); Add("to", To); Add("subject", Subject); Add("body", Body);
        Add("since", Since?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Add("before", Before?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        return "/mail?" + string.Join('&', q);
    }

    /// <summary>A column heading's link: the same column again flips the order.</summary>
    public string SortLink(string column) => Link(0, column, Sort == column ? (Dir == "desc" ? "asc" : "desc") : column == "date" || column == "size" ? "desc" : "asc");

    /// <summary>A draft opens in the composer, anything else in the read view.</summary>
    public string ReadLink(long uid) => MailboxWriter.SpecialUse(Folder) == @"\Drafts"
        ? $"/mail/compose?mode=draft&folder={Uri.EscapeDataString(Folder)}&uid={uid}"
        : $"/mail/read?folder={Uri.EscapeDataString(Folder)}&uid={uid}";

    public static string When(DateTimeOffset date)
    {
        var local = date.ToLocalTime();
        return local.Date == DateTimeOffset.Now.Date ? local.ToString("HH:mm", CultureInfo.InvariantCulture) : local.ToString("d MMM yyyy", CultureInfo.InvariantCulture);
    }

    public bool IsTrashOrJunk => MailboxWriter.SpecialUse(Folder) is @"\Trash" or @"\Junk";
}
