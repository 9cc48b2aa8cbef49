using MailCloud.Data;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Admin.Pages.Admin;

/// <summary>The work queues and their poison queues: depths, the visible items of one, replay and delete (as <c>./mailcloud queue</c>).</summary>
[Microsoft.AspNetCore.Authorization.Authorize(Policy = AdminHost.GlobalPolicy)]
public sealed class QueuesModel(AdminServices admin) : AdminPageModel
{
    [BindProperty(SupportsGet = true)] public string? Queue { get; set; }
    public IReadOnlyList<QueueDepth> Depths { get; private set; } = [];
    public IReadOnlyList<QueuedItem> Items { get; private set; } = [];
    public IReadOnlyList<ScheduledRetry> Waiting { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        var ct = HttpContext.RequestAborted;
        Depths = await admin.Queues.DepthsAsync(ct);
        Waiting = await new ScheduledRetryStore(admin.Account).ListAsync(ct);
        if (Queue is not null)
        {
            if (!QueueInspector.IsKnown(Queue))
                return NotFound();
            Items = await admin.Queues.PeekAsync(Queue, 32, ct);
        }
        return Page();
    }

    private string Back(string notice) => $"/admin/queues?queue={Uri.EscapeDataString(Queue ?? string.Empty)}&notice={notice}";

    public async Task<IActionResult> OnPostReplayAsync(string? id)
    {
        if (Queue is null || !Queue.EndsWith(MailCloud.Core.StorageNames.PoisonSuffix, StringComparison.Ordinal))
            return BadRequest();
        await admin.Queues.ReplayAsync(Queue, string.IsNullOrEmpty(id) ? null : id, HttpContext.RequestAborted);
        return Redirect(Back("replayed"));
    }

    /// <summary>Deferred remote deliveries made due now (one, or all).</summary>
    public async Task<IActionResult> OnPostRetryAsync(string? id)
    {
        await new ScheduledRetryStore(admin.Account).RetryNowAsync(string.IsNullOrEmpty(id) ? null : id, HttpContext.RequestAborted);
        return Redirect(Back("retried"));
    }

    public async Task<IActionResult> OnPostDeleteAsync(string id)
    {
        if (Queue is null || !QueueInspector.IsKnown(Queue))
            return BadRequest();
        await admin.Queues.DeleteAsync(Queue, id, HttpContext.RequestAborted);
        return Redirect(Back("deleted"));
    }
}
