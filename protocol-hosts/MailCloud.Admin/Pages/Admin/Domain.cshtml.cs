using MailCloud.Core;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Admin.Pages.Admin;

/// <summary>One domain: the DNS records to publish checked live, catch-all, spam thresholds.</summary>
public sealed class DomainModel(AdminServices admin) : AdminPageModel
{
    [BindProperty(SupportsGet = true)] public string Name { get; set; } = string.Empty;
    public DomainInfo? Domain { get; private set; }
    public IReadOnlyList<RecordCheck> Checks { get; private set; } = [];
    protected override string? ScopedDomain => Name;

    public async Task<IActionResult> OnGetAsync()
    {
        var ct = HttpContext.RequestAborted;
        Domain = await admin.Directory.GetDomainAsync(Name, ct);
        if (Domain is null)
            return NotFound();
        var key = await admin.Directory.EnsureDkimKeyAsync(Domain.Name, ct);
        Checks = await DomainCheck.RunAsync(Domain.Name, key, admin.HostName, admin.Dns, ct);
        return Page();
    }

    public Task<IActionResult> OnPostCatchAllAsync(string? target) =>
        ChangeAsync(() => admin.Directory.SetCatchAllAsync(Name, string.IsNullOrWhiteSpace(target) ? null : Address(target), HttpContext.RequestAborted),
            $"/admin/domain?name={Uri.EscapeDataString(Name)}&notice=saved", OnGetAsync);

    public Task<IActionResult> OnPostSpamAsync(double? junk, double? quarantine) =>
        ChangeAsync(async () =>
        {
            SpamPolicy? policy = junk is { } j ? new SpamPolicy(j, quarantine) : null;
            if (policy is not null)
                SpamPolicy.Validate(policy);
            await admin.Directory.SetSpamPolicyAsync(Name, policy, HttpContext.RequestAborted);
        }, $"/admin/domain?name={Uri.EscapeDataString(Name)}&notice=saved", OnGetAsync);
}
