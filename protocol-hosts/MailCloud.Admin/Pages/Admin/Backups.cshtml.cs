using MailCloud.Core;
using MailCloud.Data;

namespace MailCloud.Admin.Pages.Admin;

/// <summary>The sets the automatic backup wrote (as <c>./mailcloud backups</c>), with what each wrote and the schedule.</summary>
[Microsoft.AspNetCore.Authorization.Authorize(Policy = AdminHost.GlobalPolicy)]
public sealed class BackupsModel(AdminServices admin) : AdminPageModel
{
    public IReadOnlyList<BackupSetInfo> Sets { get; private set; } = [];
    public MailCloudSettings Settings { get; } = new();
    public string Container => admin.Backups.Container.Name;

    public async Task OnGetAsync() => Sets = await admin.Backups.ListAsync(HttpContext.RequestAborted);
}
