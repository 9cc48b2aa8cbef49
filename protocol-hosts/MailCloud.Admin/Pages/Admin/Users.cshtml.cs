using MailCloud.Core;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Admin.Pages.Admin;

public sealed record UserRow(UserInfo User, long UsedBytes, int Messages);

/// <summary>
/// The users of one domain: add, quota, password reset, sign-in disabled or allowed, admin flag, remove. A domain
/// administrator may flag users of their domain as its administrators but not make anyone a server administrator,
/// and may not change a server administrator's account at all (that would be a way up to the whole server).
/// </summary>
public sealed class UsersModel(AdminServices admin) : AdminPageModel
{
    [BindProperty(SupportsGet = true)] public string Domain { get; set; } = string.Empty;
    public IReadOnlyList<UserRow> Users { get; private set; } = [];
    protected override string? ScopedDomain => Domain;

    public async Task<IActionResult> OnGetAsync()
    {
        var ct = HttpContext.RequestAborted;
        if (await admin.Directory.GetDomainAsync(Domain, ct) is null)
            return NotFound();
        var users = await admin.Directory.ListUsersAsync(Domain, ct);
        // Usage rows are point reads in each user's own partition: read them side by side, 16 at a time.
        var usage = new (long UsedBytes, int Messages)[users.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, users.Count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct },
            async (i, c) => usage[i] = await admin.Mailboxes.GetUsageAsync(users[i].Address, c));
        Users = users.Select((u, i) => new UserRow(u, usage[i].UsedBytes, usage[i].Messages)).ToList();
        return Page();
    }

    /// <summary>Whether this session may change <paramref name="user"/>'s account.</summary>
    public bool MayChange(UserInfo user) => Scope.IsGlobal || user.Role != AdminRole.Global;

    private string Back(string notice) => $"/admin/users?domain={Uri.EscapeDataString(Domain)}&notice={notice}";

    public Task<IActionResult> OnPostAddAsync(string address, string password, string? quota) =>
        ChangeAsync(() => admin.Directory.AddUserAsync(AddressIn(Domain, address), Password(password), Quota(quota), HttpContext.RequestAborted), Back("added"), OnGetAsync);

    public Task<IActionResult> OnPostPasswordAsync(string address, string password) =>
        ChangeUserAsync(address, (a, ct) => admin.Directory.SetPasswordAsync(a, Password(password), ct));

    public Task<IActionResult> OnPostQuotaAsync(string address, string? quota) =>
        ChangeUserAsync(address, (a, ct) => admin.Directory.SetQuotaAsync(a, Quota(quota), ct));

    public Task<IActionResult> OnPostSignInAsync(string address, bool disabled) =>
        ChangeUserAsync(address, (a, ct) => admin.Directory.SetDisabledAsync(a, disabled, ct));

    public Task<IActionResult> OnPostRoleAsync(string address, string? role) =>
        ChangeUserAsync(address, (a, ct) =>
        {
            var r = Role(role);
            if (r == AdminRole.Global && !Scope.IsGlobal)
                throw new UnauthorizedAccessException("Only a server administrator can make server administrators.");
            return admin.Directory.SetAdminRoleAsync(a, r, ct);
        });

    public Task<IActionResult> OnPostRemoveAsync(string address) =>
        ChangeUserAsync(address, (a, ct) => admin.Directory.RemoveUserAsync(a, ct));

    /// <summary>A change to an existing user of this domain that this session may change.</summary>
    private Task<IActionResult> ChangeUserAsync(string address, Func<MailAddress, CancellationToken, Task> change) =>
        ChangeAsync(async () =>
        {
            var ct = HttpContext.RequestAborted;
            var a = AddressIn(Domain, address);
            var user = await admin.Directory.GetUserAsync(a, ct) ?? throw new DirectoryException(DirectoryErrorKind.NotFound, $"no user {a}");
            if (!MayChange(user))
                throw new UnauthorizedAccessException($"{a} is a server administrator; only a server administrator can change that account.");
            await change(a, ct);
        }, Back("saved"), OnGetAsync);

    private static string Password(string? password) =>
        password is { Length: >= 8 } ? password : throw new ArgumentException("Passwords are at least 8 characters.");

    private static AdminRole Role(string? text) => AdminRoles.TryParse(text, out var r)
        ? r : throw new ArgumentException($"“{text}” is not a role (none, domain, global).");

    /// <summary>"500M", "2G", empty for unlimited.</summary>
    private static long? Quota(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : ByteSize.TryParse(text.Trim(), out var b) && b > 0 ? b : throw new FormatException($"“{text}” is not a size (e.g. 500M, 2G).");
}
