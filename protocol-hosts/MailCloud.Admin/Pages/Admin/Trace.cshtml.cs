using MailCloud.Data;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Admin.Pages.Admin;

/// <summary>Message trace (as <c>./mailcloud trace</c>): one message by id, or the newest messages from or to an address.</summary>
[Microsoft.AspNetCore.Authorization.Authorize(Policy = AdminHost.GlobalPolicy)]
public sealed class TraceModel(AdminServices admin) : AdminPageModel
{
    [BindProperty(SupportsGet = true)] public string? Q { get; set; }
    public IReadOnlyList<MessageTraceView> Views { get; private set; } = [];

    public async Task OnGetAsync()
    {
        var key = Q?.Trim();
        if (string.IsNullOrEmpty(key))
            return;
        var ct = HttpContext.RequestAborted;
        Views = await admin.Traces.FindAsync(key, 20, ct);
        if (Views.All(v => v.Events.Count == 0))
        {
            Views = [];
            Error = $"No trace for “{key}”. Traces are kept for MAILCLOUD_TRACE_DAYS (30 by default).";
        }
    }
}
