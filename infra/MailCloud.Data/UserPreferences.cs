using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>A user's webmail settings.</summary>
/// <param name="Signature">Plain text appended to new messages, replies and forwards.</param>
/// <param name="ImageSenders">Senders whose remote images are shown without asking (lower-case addresses).</param>
public sealed record UserPreferences(string Signature, IReadOnlySet<string> ImageSenders)
{
    public const int MaxSignature = 4000, MaxImageSenders = 500;
    public static UserPreferences Default { get; } = new(string.Empty, new HashSet<string>());
}

/// <summary>One row per user in the preferences table (a point read per page that needs it).</summary>
public sealed class UserPreferencesStore(StorageAccount account)
{
    private const string Row = "webmail";
    private readonly TableClient _table = account.Tables.GetTableClient(StorageNames.PreferencesTable);

    public async Task<UserPreferences> GetAsync(MailAddress user, CancellationToken cancellationToken = default)
    {
        var row = await _table.GetRowAsync(TableMailboxUsage.Partition(user), Row, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (row is null)
            return UserPreferences.Default;
        var senders = (row.ReadString("ImageSenders") ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return new UserPreferences(row.ReadString("Signature") ?? string.Empty, new HashSet<string>(senders, StringComparer.Ordinal));
    }

    public async Task SaveAsync(MailAddress user, UserPreferences preferences, CancellationToken cancellationToken = default)
    {
        if (preferences.Signature.Length > UserPreferences.MaxSignature)
            throw new ArgumentException($"the signature is longer than {UserPreferences.MaxSignature} characters");
        // Newest last; the oldest are dropped past the limit so the row stays far below the 64 KiB column limit.
        var senders = preferences.ImageSenders.TakeLast(UserPreferences.MaxImageSenders);
        await _table.UpsertRowAsync(new TableEntity(TableMailboxUsage.Partition(user), Row)
        {
            ["Signature"] = preferences.Signature,
            ["ImageSenders"] = string.Join('\n', senders),
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    public async Task TrustImagesFromAsync(MailAddress user, string sender, CancellationToken cancellationToken = default)
    {
        var current = await GetAsync(user, cancellationToken).ConfigureAwait(false);
        var senders = new HashSet<string>(current.ImageSenders, StringComparer.Ordinal) { sender.ToLowerInvariant() };
        await SaveAsync(user, current with { ImageSenders = senders }, cancellationToken).ConfigureAwait(false);
    }
}
