using MailCloud.Core;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Admin.Pages.Admin;

public sealed class DomainsModel(AdminServices admin) : AdminPageModel
{
    public IReadOnlyList<DomainInfo> Domains { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        Domains = (await admin.Directory.ListDomainsAsync(HttpContext.RequestAborted)).Where(d => Scope.Allows(d.Name)).ToList();
        return Page();
    }

    // Adding and removing domains is the whole server's business.
    public Task<IActionResult> OnPostAddAsync(string name) => Scope.IsGlobal
        ? ChangeAsync(() => admin.Directory.AddDomainAsync((name ?? string.Empty).Trim(), HttpContext.RequestAborted), "/admin/domains?notice=added", OnGetAsync)
        : Task.FromResult<IActionResult>(Forbid(AdminHost.Scheme));

    public Task<IActionResult> OnPostRemoveAsync(string name) => Scope.IsGlobal
        ? ChangeAsync(() => admin.Directory.RemoveDomainAsync(name, force: false, HttpContext.RequestAborted), "/admin/domains?notice=removed", OnGetAsync)
        : Task.FromResult<IActionResult>(Forbid(AdminHost.Scheme));
}
