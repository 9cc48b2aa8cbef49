using System.Collections.Concurrent;

namespace MailCloud.Core;

/// <summary>
/// Short-lived cache in front of a directory for the hot lookups of the protocol hosts (recipient checks, logins).
/// Writes through this instance invalidate its entries at once; writes elsewhere (the CLI) show up after <c>ttl</c>.
/// Concurrent misses of one key share one load (a burst of RCPTs or logins for one user is one storage read); a
/// failed load is not kept, so the next lookup asks storage again.
/// </summary>
public sealed class CachingMailDirectory(IMailDirectory inner, TimeSpan ttl, TimeProvider? time = null) : IMailDirectory
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, (DateTimeOffset Expires, Task<object?> Value)> _cache = new(StringComparer.Ordinal);

    private async Task<T> GetOrAddAsync<T>(string key, Func<Task<T>> load, CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = _time.GetUtcNow();
            bool found = _cache.TryGetValue(key, out var hit);
            if (found && hit.Expires > now && !hit.Value.IsFaulted && !hit.Value.IsCanceled)
                return (T)(await hit.Value.WaitAsync(cancellationToken).ConfigureAwait(false))!;
            var source = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
            var entry = (now + ttl, source.Task);
            if (found ? !_cache.TryUpdate(key, entry, hit) : !_cache.TryAdd(key, entry))
                continue; // another caller started a load of this key first: share it
            _ = LoadAsync(key, entry, source, load);
            return (T)(await source.Task.WaitAsync(cancellationToken).ConfigureAwait(false))!;
        }
    }

    /// <summary>Runs a shared load to its end whoever stops waiting for it; a failure leaves no entry behind.</summary>
    private async Task LoadAsync<T>(string key, (DateTimeOffset, Task<object?>) entry, TaskCompletionSource<object?> source, Func<Task<T>> load)
    {
        try
        {
            source.SetResult(await load().ConfigureAwait(false));
        }
        catch (Exception e)
        {
            _cache.TryRemove(KeyValuePair.Create(key, entry));
            source.SetException(e);
        }
    }

    private void Invalidate() => _cache.Clear();

    public Task<DomainInfo?> GetDomainAsync(string domain, CancellationToken cancellationToken = default) =>
        GetOrAddAsync("d:" + domain.ToLowerInvariant(), () => inner.GetDomainAsync(domain, CancellationToken.None), cancellationToken);

    public Task<UserInfo?> GetUserAsync(MailAddress address, CancellationToken cancellationToken = default) =>
        GetOrAddAsync($"u:{address.LocalKey}@{address.Domain}", () => inner.GetUserAsync(address, CancellationToken.None), cancellationToken);

    public Task<RecipientResolution> ResolveRecipientAsync(MailAddress address, CancellationToken cancellationToken = default) =>
        GetOrAddAsync($"r:{address.LocalKey}@{address.Domain}", () => inner.ResolveRecipientAsync(address, CancellationToken.None), cancellationToken);

    public Task<IReadOnlyList<DomainInfo>> ListDomainsAsync(CancellationToken cancellationToken = default) => inner.ListDomainsAsync(cancellationToken);
    public Task<IReadOnlyList<UserInfo>> ListUsersAsync(string? domain = null, CancellationToken cancellationToken = default) => inner.ListUsersAsync(domain, cancellationToken);
    public Task<IReadOnlyList<AliasInfo>> ListAliasesAsync(string? domain = null, CancellationToken cancellationToken = default) => inner.ListAliasesAsync(domain, cancellationToken);

    public async Task<DomainInfo> AddDomainAsync(string domain, CancellationToken cancellationToken = default)
    {
        try { return await inner.AddDomainAsync(domain, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task RemoveDomainAsync(string domain, bool force = false, CancellationToken cancellationToken = default)
    {
        try { await inner.RemoveDomainAsync(domain, force, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task<UserInfo> AddUserAsync(MailAddress address, string password, long? quotaBytes = null, CancellationToken cancellationToken = default)
    {
        try { return await inner.AddUserAsync(address, password, quotaBytes, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task RemoveUserAsync(MailAddress address, CancellationToken cancellationToken = default)
    {
        try { await inner.RemoveUserAsync(address, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task SetPasswordAsync(MailAddress address, string password, CancellationToken cancellationToken = default)
    {
        try { await inner.SetPasswordAsync(address, password, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task SetQuotaAsync(MailAddress address, long? quotaBytes, CancellationToken cancellationToken = default)
    {
        try { await inner.SetQuotaAsync(address, quotaBytes, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task SetDisabledAsync(MailAddress address, bool disabled, CancellationToken cancellationToken = default)
    {
        try { await inner.SetDisabledAsync(address, disabled, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task SetAdminRoleAsync(MailAddress address, AdminRole role, CancellationToken cancellationToken = default)
    {
        try { await inner.SetAdminRoleAsync(address, role, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task<AliasInfo> AddAliasAsync(MailAddress alias, IReadOnlyList<MailAddress> targets, CancellationToken cancellationToken = default)
    {
        try { return await inner.AddAliasAsync(alias, targets, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public Task<DkimKeyInfo?> GetDkimKeyAsync(string domain, CancellationToken cancellationToken = default) =>
        GetOrAddAsync("k:" + domain.ToLowerInvariant(), () => inner.GetDkimKeyAsync(domain, CancellationToken.None), cancellationToken);

    public async Task<DkimKeyInfo> EnsureDkimKeyAsync(string domain, CancellationToken cancellationToken = default)
    {
        try { return await inner.EnsureDkimKeyAsync(domain, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public Task<IReadOnlyList<ListInfo>> ListListsAsync(string? domain = null, CancellationToken cancellationToken = default) => inner.ListListsAsync(domain, cancellationToken);

    public async Task SetCatchAllAsync(string domain, MailAddress? target, CancellationToken cancellationToken = default)
    {
        try { await inner.SetCatchAllAsync(domain, target, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task SetSpamPolicyAsync(string domain, SpamPolicy? policy, CancellationToken cancellationToken = default)
    {
        try { await inner.SetSpamPolicyAsync(domain, policy, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task<ListInfo> AddListAsync(MailAddress list, IReadOnlyList<MailAddress> members, CancellationToken cancellationToken = default)
    {
        try { return await inner.AddListAsync(list, members, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task RemoveListAsync(MailAddress list, CancellationToken cancellationToken = default)
    {
        try { await inner.RemoveListAsync(list, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }

    public async Task RemoveAliasAsync(MailAddress alias, CancellationToken cancellationToken = default)
    {
        try { await inner.RemoveAliasAsync(alias, cancellationToken).ConfigureAwait(false); }
        finally { Invalidate(); }
    }
}
