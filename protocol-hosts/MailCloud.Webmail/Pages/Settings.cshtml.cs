using MailCloud.Data;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Webmail.Pages;

public sealed class SettingsModel(WebmailServices services) : MailPageModel
{
    public UserPreferences Preferences { get; private set; } = UserPreferences.Default;

    public async Task OnGetAsync() => Preferences = await services.Preferences.GetAsync(Me.Address, HttpContext.RequestAborted);

    public async Task<IActionResult> OnPostAsync(string? signature, List<string> keep)
    {
        var ct = HttpContext.RequestAborted;
        var current = await services.Preferences.GetAsync(Me.Address, ct);
        signature = (signature ?? string.Empty).Replace("\r\n", "\n", StringComparison.Ordinal);
        if (signature.Length > UserPreferences.MaxSignature)
        {
            Error = $"The signature may be at most {UserPreferences.MaxSignature} characters.";
            Preferences = current;
            return Page();
        }
        var senders = current.ImageSenders.Where(s => keep.Contains(s)).ToHashSet(StringComparer.Ordinal);
        await services.Preferences.SaveAsync(Me.Address, new UserPreferences(signature, senders), ct);
        return Redirect("/mail/settings?notice=settings");
    }
}
