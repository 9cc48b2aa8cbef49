using MailCloud.Core;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Admin.Pages.Admin;

public sealed class DomainsModel(AdminServices admin) : AdminPageModel
{
    public IReadOnlyList<DomainInfo> Domains { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        Domains = await admin.Directory.ListDomainsAsync(HttpContext.RequestAborted);
        return Page();
    }

    public Task<IActionResult> OnPostAddAsync(string name) =>
        ChangeAsync(() => admin.Directory.AddDomainAsync((name ?? string.Empty).Trim(), HttpContext.RequestAborted), "/admin/domains?notice=added", OnGetAsync);

    public Task<IActionResult> OnPostRemoveAsync(string name) =>
        ChangeAsync(() => admin.Directory.RemoveDomainAsync(name, force: false, HttpContext.RequestAborted), "/admin/domains?notice=removed", OnGetAsync);
}
