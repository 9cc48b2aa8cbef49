using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.Admin.Pages.Admin;

/// <summary>Server health: storage reachable, queue depths and their oldest items, poison counts, what is hosted.</summary>
public sealed class IndexModel(AdminServices admin) : AdminPageModel
{
    public bool StorageOk { get; private set; }
    public string? StorageError { get; private set; }
    public IReadOnlyList<QueueDepth> Queues { get; private set; } = [];
    public int Domains { get; private set; }
    public int Users { get; private set; }

    public static string Age(DateTimeOffset since)
    {
        var age = DateTimeOffset.UtcNow - since;
        return age.TotalMinutes < 1 ? $"{age.TotalSeconds:0} s" : age.TotalHours < 1 ? $"{age.TotalMinutes:0} min" : age.TotalDays < 1 ? $"{age.TotalHours:0.#} h" : $"{age.TotalDays:0.#} d";
    }

    public async Task<Microsoft.AspNetCore.Mvc.IActionResult> OnGetAsync()
    {
        // A domain administrator's start page is their domain; health is the whole server's.
        if (Scope.Domain is { } own)
            return Redirect($"/admin/domain?name={Uri.EscapeDataString(own)}");
        var ct = HttpContext.RequestAborted;
        try
        {
            await StorageProvisioner.ProbeAsync(admin.Account, ct);
            StorageOk = true;
            Queues = await admin.Queues.DepthsAsync(ct);
            Domains = (await admin.Directory.ListDomainsAsync(ct)).Count;
            Users = (await admin.Directory.ListUsersAsync(null, ct)).Count;
        }
        catch (Exception e) when (StorageErrors.IsStorageFailure(e))
        {
            StorageError = e.Message.Split('\n')[0];
        }
        return Page();
    }
}
