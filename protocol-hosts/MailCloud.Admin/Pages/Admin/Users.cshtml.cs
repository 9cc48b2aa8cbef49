using MailCloud.Core;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Admin.Pages.Admin;

public sealed record UserRow(UserInfo User, long UsedBytes, int Messages);

public sealed class UsersModel(AdminServices admin) : AdminPageModel
{
    [BindProperty(SupportsGet = true)] public string Domain { get; set; } = string.Empty;
    public IReadOnlyList<UserRow> Users { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        var ct = HttpContext.RequestAborted;
        if (await admin.Directory.GetDomainAsync(Domain, ct) is null)
            return NotFound();
        var rows = new List<UserRow>();
        foreach (var u in await admin.Directory.ListUsersAsync(Domain, ct))
        {
            var (used, messages) = await admin.Mailboxes.GetUsageAsync(u.Address, ct);
            rows.Add(new UserRow(u, used, messages));
        }
        Users = rows;
        return Page();
    }

    private string Back(string notice) => $"/admin/users?domain={Uri.EscapeDataString(Domain)}&notice={notice}";

    public Task<IActionResult> OnPostAddAsync(string address, string password, string? quota) =>
        ChangeAsync(() => admin.Directory.AddUserAsync(Address(address), Password(password), Quota(quota), HttpContext.RequestAborted), Back("added"), OnGetAsync);

    public Task<IActionResult> OnPostPasswordAsync(string address, string password) =>
        ChangeAsync(() => admin.Directory.SetPasswordAsync(Address(address), Password(password), HttpContext.RequestAborted), Back("saved"), OnGetAsync);

    public Task<IActionResult> OnPostQuotaAsync(string address, string? quota) =>
        ChangeAsync(() => admin.Directory.SetQuotaAsync(Address(address), Quota(quota), HttpContext.RequestAborted), Back("saved"), OnGetAsync);

    public Task<IActionResult> OnPostRemoveAsync(string address) =>
        ChangeAsync(() => admin.Directory.RemoveUserAsync(Address(address), HttpContext.RequestAborted), Back("removed"), OnGetAsync);

    private static string Password(string? password) =>
        password is { Length: >= 8 } ? password : throw new ArgumentException("Passwords are at least 8 characters.");

    /// <summary>"500M", "2G", empty for unlimited.</summary>
    private static long? Quota(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : ByteSize.TryParse(text.Trim(), out var b) && b > 0 ? b : throw new FormatException($"“{text}” is not a size (e.g. 500M, 2G).");
}
