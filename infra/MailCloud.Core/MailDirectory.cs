namespace MailCloud.Core;

public sealed record DomainInfo(string Name, DateTimeOffset Created, MailAddress? CatchAll = null, SpamPolicy? Spam = null);

/// <summary>
/// A domain's spam thresholds on the filter's total score: at <paramref name="JunkScore"/> mail goes to Junk, at
/// <paramref name="QuarantineScore"/> (when set) it is held in quarantine. A domain without one follows the engine's
/// own action (rspamd) or the built-in default (Junk at 5).
/// </summary>
public sealed record SpamPolicy(double JunkScore, double? QuarantineScore = null)
{
    public static void Validate(SpamPolicy policy)
    {
        if (!double.IsFinite(policy.JunkScore) || policy.QuarantineScore is { } q && (!double.IsFinite(q) || q <= policy.JunkScore))
            throw new DirectoryException(DirectoryErrorKind.InvalidInput, "the quarantine score must be a number above the junk score");
    }
}

/// <summary>A domain's DKIM keys: RSA (PKCS#8) under <paramref name="Selector"/>, Ed25519 (32-byte seed) under <paramref name="Ed25519Selector"/>.</summary>
public sealed record DkimKeyInfo(string Selector, byte[] PrivateKey, string? Ed25519Selector = null, byte[]? Ed25519Key = null);

/// <summary>What a user may administer besides their own mailbox: nothing, their own domain, or the whole server.</summary>
public enum AdminRole
{
    None,
    Domain,
    Global,
}

/// <summary>The names of <see cref="AdminRole"/> in the CLI, the API, the UI and the directory row.</summary>
public static class AdminRoles
{
    public static string Name(AdminRole role) => role.ToString().ToLowerInvariant();

    /// <summary>"none", "domain" or "global" (any case); numbers and anything else are refused.</summary>
    public static bool TryParse(string? text, out AdminRole role)
    {
        role = text?.Trim().ToLowerInvariant() switch { "none" => AdminRole.None, "domain" => AdminRole.Domain, "global" => AdminRole.Global, _ => (AdminRole)(-1) };
        return Enum.IsDefined(role);
    }
}

/// <param name="Disabled">Signing in is refused (SMTP AUTH, IMAP, POP3, webmail, admin UI); mail to the address is still accepted and kept.</param>
/// <param name="Role">Sign-in to the admin UI, for their own domain or for all of them.</param>
public sealed record UserInfo(MailAddress Address, long? QuotaBytes, DateTimeOffset Created, ScramCredential Credential, bool Disabled = false, AdminRole Role = AdminRole.None)
{
    /// <summary>A short digest of the password verifier for web sessions: it changes whenever the password does and reveals nothing about it.</summary>
    public string CredentialStamp => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([.. Credential.Salt, .. Credential.StoredKey]))[..24];
}

public sealed record AliasInfo(MailAddress Address, IReadOnlyList<MailAddress> Targets, DateTimeOffset Created);

/// <summary>A mailing list: mail to it goes to every member, with the envelope sender set to <see cref="BounceAddress"/>.</summary>
public sealed record ListInfo(MailAddress Address, IReadOnlyList<MailAddress> Members, DateTimeOffset Created)
{
    /// <summary>Where members' delivery failures go, so they reach the list owner and not the original author.</summary>
    public MailAddress BounceAddress => MailAddress.Parse($"{Address.LocalPart}-bounces@{Address.Domain}");
}

public enum RecipientKind
{
    /// <summary>The domain is not hosted here.</summary>
    NotHosted,

    /// <summary>The domain is hosted but nobody of that name exists.</summary>
    Unknown,

    User,
    Alias,

    /// <summary>A mailing list: <see cref="RecipientResolution.Targets"/> are its members.</summary>
    List,

    /// <summary>No such name, but the domain's catch-all takes it: <see cref="RecipientResolution.Targets"/> holds the catch-all target.</summary>
    CatchAll,
}

/// <summary>What a recipient address means here. <see cref="Targets"/> is set for aliases, lists and catch-alls.</summary>
public sealed record RecipientResolution(RecipientKind Kind, UserInfo? User = null, IReadOnlyList<MailAddress>? Targets = null, ListInfo? List = null)
{
    /// <summary>Whether mail for this recipient is accepted here (everything but unknown names and foreign domains).</summary>
    public bool IsLocal => Kind is RecipientKind.User or RecipientKind.Alias or RecipientKind.List or RecipientKind.CatchAll;
}

public enum DirectoryErrorKind
{
    InvalidInput,
    DomainNotHosted,
    AlreadyExists,
    NotFound,
    NotEmpty,
}

/// <summary>An administrative request that cannot be carried out as asked; the message is fit to show a user.</summary>
public sealed class DirectoryException(DirectoryErrorKind kind, string message) : Exception(message)
{
    public DirectoryErrorKind Kind { get; } = kind;
}

/// <summary>Domains, users and aliases. Implementations keep passwords only as <see cref="ScramCredential"/>.</summary>
public interface IMailDirectory
{
    Task<DomainInfo> AddDomainAsync(string domain, CancellationToken cancellationToken = default);

    /// <summary>Removes a domain; refuses while users or aliases remain unless <paramref name="force"/>.</summary>
    Task RemoveDomainAsync(string domain, bool force = false, CancellationToken cancellationToken = default);

    Task<DomainInfo?> GetDomainAsync(string domain, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<DomainInfo>> ListDomainsAsync(CancellationToken cancellationToken = default);

    Task<UserInfo> AddUserAsync(MailAddress address, string password, long? quotaBytes = null, CancellationToken cancellationToken = default);
    Task RemoveUserAsync(MailAddress address, CancellationToken cancellationToken = default);
    Task<UserInfo?> GetUserAsync(MailAddress address, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<UserInfo>> ListUsersAsync(string? domain = null, CancellationToken cancellationToken = default);
    Task SetPasswordAsync(MailAddress address, string password, CancellationToken cancellationToken = default);
    Task SetQuotaAsync(MailAddress address, long? quotaBytes, CancellationToken cancellationToken = default);

    /// <summary>Refuses (or again allows) every sign-in of the user; their mail keeps arriving.</summary>
    Task SetDisabledAsync(MailAddress address, bool disabled, CancellationToken cancellationToken = default);

    /// <summary>Makes the user an administrator of their domain or of the server, or takes that away.</summary>
    Task SetAdminRoleAsync(MailAddress address, AdminRole role, CancellationToken cancellationToken = default);

    Task<AliasInfo> AddAliasAsync(MailAddress alias, IReadOnlyList<MailAddress> targets, CancellationToken cancellationToken = default);
    Task RemoveAliasAsync(MailAddress alias, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<AliasInfo>> ListAliasesAsync(string? domain = null, CancellationToken cancellationToken = default);

    /// <summary>The domain's DKIM key, created (2048-bit RSA, selector "mc1") when it has none yet.</summary>
    Task<DkimKeyInfo> EnsureDkimKeyAsync(string domain, CancellationToken cancellationToken = default);

    /// <summary>The domain's DKIM key, or null when the domain is not hosted or has none.</summary>
    Task<DkimKeyInfo?> GetDkimKeyAsync(string domain, CancellationToken cancellationToken = default);

    /// <summary>Sets (or with null removes) the address that receives mail for unknown names in the domain.</summary>
    Task SetCatchAllAsync(string domain, MailAddress? target, CancellationToken cancellationToken = default);

    /// <summary>Sets (or with null removes) the domain's spam thresholds.</summary>
    Task SetSpamPolicyAsync(string domain, SpamPolicy? policy, CancellationToken cancellationToken = default);

    Task<ListInfo> AddListAsync(MailAddress list, IReadOnlyList<MailAddress> members, CancellationToken cancellationToken = default);
    Task RemoveListAsync(MailAddress list, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<ListInfo>> ListListsAsync(string? domain = null, CancellationToken cancellationToken = default);

    /// <summary>What an envelope recipient means here (user, alias, unknown, or a domain we do not host).</summary>
    Task<RecipientResolution> ResolveRecipientAsync(MailAddress address, CancellationToken cancellationToken = default);
}

public static class MailDirectoryExtensions
{
    /// <summary>
    /// Whether a signed-in session of <paramref name="user"/> must end because the account was disabled or removed
    /// since. Through a caching directory this is a memory lookup most of the time; a lookup that fails says no, so
    /// a storage hiccup never ends sessions.
    /// </summary>
    public static async Task<bool> SignInRevokedAsync(this IMailDirectory directory, MailAddress user, CancellationToken cancellationToken = default)
    {
        try
        {
            return await directory.GetUserAsync(user, cancellationToken).ConfigureAwait(false) is not { Disabled: false };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Verifies a clear-text login (PLAIN, LOGIN). Returns the user, or null for an unknown user, wrong password or
    /// disabled account — callers must not tell these apart to the client.
    /// </summary>
    public static async Task<UserInfo?> VerifyPasswordAsync(this IMailDirectory directory, string userName, string password, CancellationToken cancellationToken = default)
    {
        if (!MailAddress.TryParse(userName, out var address))
            return null;
        var user = await directory.GetUserAsync(address, cancellationToken).ConfigureAwait(false);
        if (user is null || user.Disabled)
        {
            // Spend the same work as a real check so timing does not reveal which accounts exist.
            ScramCredential.Create(password, ScramCredential.DefaultIterations, new byte[16]);
            return null;
        }
        return user.Credential.Verify(password) ? user : null;
    }

    /// <summary>
    /// May <paramref name="user"/> send as <paramref name="address"/>? Their own address and every alias that delivers to
    /// them; lists and catch-alls deliver to the user too, but that does not make their addresses the user's to send as.
    /// SMTP submission (MAIL FROM) and webmail (From) apply the same rule.
    /// </summary>
    public static async Task<bool> OwnsAsync(this IMailDirectory directory, UserInfo user, MailAddress address, CancellationToken cancellationToken = default)
    {
        if (address.Equals(user.Address))
            return true;
        var resolved = await directory.ResolveRecipientAsync(address, cancellationToken).ConfigureAwait(false);
        return resolved.Kind == RecipientKind.Alias && resolved.Targets!.Contains(user.Address);
    }

    /// <summary>The addresses <paramref name="user"/> may send as, as far as the directory lists them (the user's own and their aliases in the domain).</summary>
    public static async Task<IReadOnlyList<MailAddress>> SendableAddressesAsync(this IMailDirectory directory, UserInfo user, CancellationToken cancellationToken = default)
    {
        var result = new List<MailAddress> { user.Address };
        foreach (var alias in await directory.ListAliasesAsync(user.Address.Domain, cancellationToken).ConfigureAwait(false))
        {
            if (alias.Targets.Contains(user.Address))
                result.Add(alias.Address);
        }
        return result;
    }
}
