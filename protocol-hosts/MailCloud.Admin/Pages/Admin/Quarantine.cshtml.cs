using MailCloud.Data;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Admin.Pages.Admin;

/// <summary>
/// Held messages (as <c>./mailcloud quarantine</c>): why each was held, from whom, for whom; release delivers it to
/// its held recipients past the content engines, delete drops it. A domain administrator sees the entries whose
/// held recipients are all in their domain, so releasing never delivers into someone else's domain.
/// </summary>
public sealed class QuarantineModel(AdminServices admin) : AdminPageModel
{
    public IReadOnlyList<QuarantineEntry> Entries { get; private set; } = [];

    /// <summary>Entries listed at most; the rest wait for housekeeping's retention or the CLI.</summary>
    public const int Shown = 200;

    public bool Visible(QuarantineEntry entry) => entry.Envelope.Recipients.Count > 0 && entry.Envelope.Recipients.All(r =>
        MailCloud.Core.MailAddress.TryParse(r.Address, out var a) && Scope.Allows(a.Domain));

    public async Task OnGetAsync()
    {
        var list = new List<QuarantineEntry>();
        await foreach (var e in admin.Quarantine.ListAsync(HttpContext.RequestAborted))
        {
            if (Visible(e))
                list.Add(e);
        }
        // Newest first: what was held a moment ago is what someone is asking about.
        Entries = list.AsEnumerable().Reverse().Take(Shown).ToList();
    }

    public Task<IActionResult> OnPostReleaseAsync(string id) =>
        ChangeAsync(async () => await admin.Quarantine.ReleaseAsync((await VisibleEntryAsync(id)).Id, HttpContext.RequestAborted), "/admin/quarantine?notice=released", Reload);

    public Task<IActionResult> OnPostDeleteAsync(string id) =>
        ChangeAsync(async () => await admin.Quarantine.DeleteAsync(await VisibleEntryAsync(id), HttpContext.RequestAborted), "/admin/quarantine?notice=deleted", Reload);

    private async Task<QuarantineEntry> VisibleEntryAsync(string id) =>
        await admin.Quarantine.GetAsync(id ?? string.Empty, HttpContext.RequestAborted) is { } e && Visible(e)
            ? e : throw new ArgumentException($"No held message {id} (released or deleted already?).");

    private async Task<IActionResult> Reload()
    {
        await OnGetAsync();
        return Page();
    }
}
