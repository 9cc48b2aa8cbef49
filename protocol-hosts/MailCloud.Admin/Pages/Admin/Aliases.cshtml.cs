using MailCloud.Core;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Admin.Pages.Admin;

/// <summary>Aliases and forwarders (an alias to a remote address forwards) and mailing lists of one domain.</summary>
public sealed class AliasesModel(AdminServices admin) : AdminPageModel
{
    [BindProperty(SupportsGet = true)] public string Domain { get; set; } = string.Empty;
    public IReadOnlyList<AliasInfo> Aliases { get; private set; } = [];
    public IReadOnlyList<ListInfo> Lists { get; private set; } = [];
    protected override string? ScopedDomain => Domain;

    public async Task<IActionResult> OnGetAsync()
    {
        var ct = HttpContext.RequestAborted;
        if (await admin.Directory.GetDomainAsync(Domain, ct) is null)
            return NotFound();
        Aliases = await admin.Directory.ListAliasesAsync(Domain, ct);
        Lists = await admin.Directory.ListListsAsync(Domain, ct);
        return Page();
    }

    private string Back(string notice) => $"/admin/aliases?domain={Uri.EscapeDataString(Domain)}&notice={notice}";

    private static List<MailAddress> Addresses(string? text) =>
        (text ?? string.Empty).Split([',', ';', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Address).ToList();

    public Task<IActionResult> OnPostAddAliasAsync(string address, string targets) =>
        ChangeAsync(() => admin.Directory.AddAliasAsync(AddressIn(Domain, address), Addresses(targets), HttpContext.RequestAborted), Back("added"), OnGetAsync);

    public Task<IActionResult> OnPostRemoveAliasAsync(string address) =>
        ChangeAsync(() => admin.Directory.RemoveAliasAsync(AddressIn(Domain, address), HttpContext.RequestAborted), Back("removed"), OnGetAsync);

    public Task<IActionResult> OnPostAddListAsync(string address, string members) =>
        ChangeAsync(() => admin.Directory.AddListAsync(AddressIn(Domain, address), Addresses(members), HttpContext.RequestAborted), Back("added"), OnGetAsync);

    public Task<IActionResult> OnPostRemoveListAsync(string address) =>
        ChangeAsync(() => admin.Directory.RemoveListAsync(AddressIn(Domain, address), HttpContext.RequestAborted), Back("removed"), OnGetAsync);
}
