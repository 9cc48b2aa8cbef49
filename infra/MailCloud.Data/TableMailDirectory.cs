using Azure;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>
/// The directory in one table: partition = domain (A-label), rows <c>domain</c>, <c>user:&lt;local&gt;</c>,
/// <c>alias:&lt;local&gt;</c>. A recipient lookup is one partition query; a login is one point read.
/// </summary>
/// <param name="secrets">With a vault, DKIM private keys are kept there and the domain row names them; without one they are in the row.</param>
public sealed class TableMailDirectory(TableClient table, TimeProvider? time = null, ISecretStore? secrets = null) : IMailDirectory
{
    private const string DomainRow = "domain";
    private const string UserPrefix = "user:";
    private const string AliasPrefix = "alias:";
    private const string ListPrefix = "list:";
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public TableClient Table => table;

    private static string UserRow(MailAddress a) => UserPrefix + TableKeys.Escape(a.LocalKey);
    private static string AliasRow(MailAddress a) => AliasPrefix + TableKeys.Escape(a.LocalKey);
    private static string ListRow(MailAddress a) => ListPrefix + TableKeys.Escape(a.LocalKey);

    /// <summary>Refuses an address already taken by a user, alias or list (three point reads in parallel).</summary>
    private async Task RequireFreeAsync(MailAddress address, string adding, CancellationToken cancellationToken)
    {
        var rows = await table.GetRowsAsync(address.Domain, [UserRow(address), AliasRow(address), ListRow(address)], ["RowKey"], cancellationToken).ConfigureAwait(false);
        foreach (var e in rows.Values)
        {
            var what = e.RowKey.StartsWith(UserPrefix, StringComparison.Ordinal) ? "user" : e.RowKey.StartsWith(AliasPrefix, StringComparison.Ordinal) ? "alias" : "list";
            throw new DirectoryException(DirectoryErrorKind.AlreadyExists,
                what == adding ? $"{what} {address} already exists" : $"{address} is already {(what == "alias" ? "an" : "a")} {what}");
        }
    }

    private static string NormalizeDomain(string domain) =>
        MailAddress.TryNormalizeDomain(domain, out var ascii, out var error) ? ascii : throw new DirectoryException(DirectoryErrorKind.InvalidInput, error);

    public async Task<DomainInfo> AddDomainAsync(string domain, CancellationToken cancellationToken = default)
    {
        var name = NormalizeDomain(domain);
        var created = _time.GetUtcNow();
        try
        {
            // Every hosted domain gets its DKIM keys at once, so its mail can be signed from the first message on.
            using var key = System.Security.Cryptography.RSA.Create(2048);
            var row = new TableEntity(name, DomainRow) { ["Created"] = created };
            await PutDkimKeysAsync(row, new DkimKeyInfo(DkimSelector, key.ExportPkcs8PrivateKey(), DkimEd25519Selector, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), cancellationToken).ConfigureAwait(false);
            await table.AddRowAsync(row, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            throw new DirectoryException(DirectoryErrorKind.AlreadyExists, $"domain {name} already exists");
        }
        return new DomainInfo(name, created);
    }

    public async Task RemoveDomainAsync(string domain, bool force = false, CancellationToken cancellationToken = default)
    {
        var name = NormalizeDomain(domain);
        var rows = new List<TableEntity>();
        await foreach (var e in table.QueryRowsAsync(TableFilter.PartitionKey(name), ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            rows.Add(e);
        if (!rows.Any(r => r.RowKey == DomainRow))
            throw new DirectoryException(DirectoryErrorKind.NotFound, $"domain {name} is not hosted here");
        var others = rows.Count(r => r.RowKey != DomainRow);
        if (others > 0 && !force)
            throw new DirectoryException(DirectoryErrorKind.NotEmpty, $"domain {name} still has {others} users/aliases (remove them first, or use --force)");
        // Members first, the domain row last: an interrupted removal leaves a domain that can be removed again.
        foreach (var chunk in rows.Where(r => r.RowKey != DomainRow).Chunk(100))
            await table.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, ETag.All)), cancellationToken).ConfigureAwait(false);
        await table.DeleteRowAsync(name, DomainRow, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async Task<DomainInfo?> GetDomainAsync(string domain, CancellationToken cancellationToken = default)
    {
        if (!MailAddress.TryNormalizeDomain(domain, out var name, out _))
            return null;
        var e = await table.GetRowAsync(name, DomainRow, cancellationToken: cancellationToken).ConfigureAwait(false);
        return e is null ? null : ToDomain(e);
    }

    public async Task<IReadOnlyList<DomainInfo>> ListDomainsAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<DomainInfo>();
        await foreach (var e in table.QueryRowsAsync(TableFilter.Equal("RowKey", DomainRow), cancellationToken: cancellationToken).ConfigureAwait(false))
            list.Add(ToDomain(e));
        return list.OrderBy(d => d.Name, StringComparer.Ordinal).ToList();
    }

    public async Task<UserInfo> AddUserAsync(MailAddress address, string password, long? quotaBytes = null, CancellationToken cancellationToken = default)
    {
        ValidatePassword(password);
        await RequireDomainAsync(address.Domain, cancellationToken).ConfigureAwait(false);
        await RequireFreeAsync(address, "user", cancellationToken).ConfigureAwait(false);
        var user = new UserInfo(address, quotaBytes, _time.GetUtcNow(), ScramCredential.Create(password));
        try
        {
            await table.AddRowAsync(ToEntity(user), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            throw new DirectoryException(DirectoryErrorKind.AlreadyExists, $"user {address} already exists");
        }
        return user;
    }

    public async Task RemoveUserAsync(MailAddress address, CancellationToken cancellationToken = default)
    {
        if (!await table.DeleteRowAsync(address.Domain, UserRow(address), cancellationToken: cancellationToken).ConfigureAwait(false))
            throw new DirectoryException(DirectoryErrorKind.NotFound, $"no user {address}");
    }

    public async Task<UserInfo?> GetUserAsync(MailAddress address, CancellationToken cancellationToken = default)
    {
        var e = await table.GetRowAsync(address.Domain, UserRow(address), cancellationToken: cancellationToken).ConfigureAwait(false);
        return e is null ? null : ToUser(e);
    }

    public async Task<IReadOnlyList<UserInfo>> ListUsersAsync(string? domain = null, CancellationToken cancellationToken = default)
    {
        var filter = TableFilter.RowKeyPrefix(UserPrefix);
        if (domain is not null)
            filter = TableFilter.And(TableFilter.PartitionKey(NormalizeDomain(domain)), filter);
        var list = new List<UserInfo>();
        await foreach (var e in table.QueryRowsAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            list.Add(ToUser(e));
        return list.OrderBy(u => u.Address.Domain, StringComparer.Ordinal).ThenBy(u => u.Address.LocalKey, StringComparer.Ordinal).ToList();
    }

    public async Task SetPasswordAsync(MailAddress address, string password, CancellationToken cancellationToken = default)
    {
        ValidatePassword(password);
        var c = ScramCredential.Create(password);
        var e = new TableEntity(address.Domain, UserRow(address))
        {
            ["Salt"] = c.Salt, ["Iterations"] = c.Iterations, ["StoredKey"] = c.StoredKey, ["ServerKey"] = c.ServerKey,
        };
        await UpdateExistingUserAsync(address, e, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
    }

    public async Task SetQuotaAsync(MailAddress address, long? quotaBytes, CancellationToken cancellationToken = default)
    {
        if (quotaBytes < 0)
            throw new DirectoryException(DirectoryErrorKind.InvalidInput, "quota cannot be negative");
        // Removing a property needs a replace: read, change, write back under the ETag just read.
        var current = await table.GetRowAsync(address.Domain, UserRow(address), cancellationToken: cancellationToken).ConfigureAwait(false)
            ?? throw new DirectoryException(DirectoryErrorKind.NotFound, $"no user {address}");
        if (quotaBytes is null)
            current.Remove("QuotaBytes");
        else
            current["QuotaBytes"] = quotaBytes.Value;
        await table.UpdateRowAsync(current, current.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    public Task SetDisabledAsync(MailAddress address, bool disabled, CancellationToken cancellationToken = default) =>
        UpdateExistingUserAsync(address, new TableEntity(address.Domain, UserRow(address)) { ["Disabled"] = disabled }, TableUpdateMode.Merge, cancellationToken);

    public Task SetAdminRoleAsync(MailAddress address, AdminRole role, CancellationToken cancellationToken = default) =>
        UpdateExistingUserAsync(address, new TableEntity(address.Domain, UserRow(address)) { ["AdminRole"] = AdminRoles.Name(role) }, TableUpdateMode.Merge, cancellationToken);

    // Absent (rows from before roles) or unknown: no admin rights.
    private static AdminRole ReadRole(string? text) => AdminRoles.TryParse(text, out var role) ? role : AdminRole.None;

    private async Task UpdateExistingUserAsync(MailAddress address, TableEntity e, TableUpdateMode mode, CancellationToken cancellationToken)
    {
        try
        {
            await table.UpdateRowAsync(e, ETag.All, mode, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new DirectoryException(DirectoryErrorKind.NotFound, $"no user {address}");
        }
    }

    public async Task<AliasInfo> AddAliasAsync(MailAddress alias, IReadOnlyList<MailAddress> targets, CancellationToken cancellationToken = default)
    {
        if (targets.Count == 0)
            throw new DirectoryException(DirectoryErrorKind.InvalidInput, "an alias needs at least one target");
        if (targets.Contains(alias))
            throw new DirectoryException(DirectoryErrorKind.InvalidInput, $"alias {alias} cannot point to itself");
        await RequireDomainAsync(alias.Domain, cancellationToken).ConfigureAwait(false);
        await RequireFreeAsync(alias, "alias", cancellationToken).ConfigureAwait(false);
        var info = new AliasInfo(alias, targets.Distinct().ToList(), _time.GetUtcNow());
        try
        {
            await table.AddRowAsync(new TableEntity(alias.Domain, AliasRow(alias))
            {
                ["Address"] = alias.Address,
                ["Targets"] = string.Join('\n', info.Targets.Select(t => t.Address)),
                ["Created"] = info.Created,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            throw new DirectoryException(DirectoryErrorKind.AlreadyExists, $"alias {alias} already exists");
        }
        return info;
    }

    public async Task RemoveAliasAsync(MailAddress alias, CancellationToken cancellationToken = default)
    {
        if (!await table.DeleteRowAsync(alias.Domain, AliasRow(alias), cancellationToken: cancellationToken).ConfigureAwait(false))
            throw new DirectoryException(DirectoryErrorKind.NotFound, $"no alias {alias}");
    }

    public async Task<IReadOnlyList<AliasInfo>> ListAliasesAsync(string? domain = null, CancellationToken cancellationToken = default)
    {
        var filter = TableFilter.RowKeyPrefix(AliasPrefix);
        if (domain is not null)
            filter = TableFilter.And(TableFilter.PartitionKey(NormalizeDomain(domain)), filter);
        var list = new List<AliasInfo>();
        await foreach (var e in table.QueryRowsAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            list.Add(ToAlias(e));
        return list.OrderBy(a => a.Address.Domain, StringComparer.Ordinal).ThenBy(a => a.Address.LocalKey, StringComparer.Ordinal).ToList();
    }

    public async Task<RecipientResolution> ResolveRecipientAsync(MailAddress address, CancellationToken cancellationToken = default)
    {
        // Point reads, never one query with an "or" of RowKeys (which Table storage serves by scanning the domain's
        // whole partition). Most recipients are users: their row alone answers (1 request). Otherwise the domain,
        // alias and list rows in parallel (3 more, one round trip).
        if (await table.GetRowAsync(address.Domain, UserRow(address), cancellationToken: cancellationToken).ConfigureAwait(false) is { } user)
            return new RecipientResolution(RecipientKind.User, ToUser(user));
        var rows = await table.GetRowsAsync(address.Domain, [DomainRow, AliasRow(address), ListRow(address)], cancellationToken: cancellationToken).ConfigureAwait(false);
        var domainRow = rows.GetValueOrDefault(DomainRow);
        var aliasRow = rows.GetValueOrDefault(AliasRow(address));
        var listRow = rows.GetValueOrDefault(ListRow(address));
        if (domainRow is null)
            return new RecipientResolution(RecipientKind.NotHosted);
        if (aliasRow is not null)
            return new RecipientResolution(RecipientKind.Alias, Targets: ToAlias(aliasRow).Targets);
        if (listRow is not null)
        {
            var list = ToList(listRow);
            return new RecipientResolution(RecipientKind.List, Targets: list.Members, List: list);
        }
        if (ToDomain(domainRow).CatchAll is { } catchAll)
            return new RecipientResolution(RecipientKind.CatchAll, Targets: [catchAll]);
        return new RecipientResolution(RecipientKind.Unknown);
    }

    public const string DkimSelector = "mc1";

    /// <summary>RFC 8463 keys need their own selector: one DNS record names one key type.</summary>
    public const string DkimEd25519Selector = "mc1ed";

    /// <summary>Puts the keys into the vault (the row gets their names) or, without a vault, into the row itself.</summary>
    private async Task PutDkimKeysAsync(TableEntity row, DkimKeyInfo keys, CancellationToken cancellationToken)
    {
        row["DkimSelector"] = keys.Selector;
        row["DkimEdSelector"] = keys.Ed25519Selector;
        foreach (var (column, algorithm, value) in new[] { ("DkimKey", "rsa", keys.PrivateKey), ("DkimEdKey", "ed25519", keys.Ed25519Key) })
        {
            if (value is null)
                continue;
            if (secrets is null)
            {
                row[column] = value;
                continue;
            }
            var secretName = KeyVaultSecrets.DkimSecretName(row.PartitionKey, algorithm);
            await secrets.SetAsync(secretName, value, cancellationToken).ConfigureAwait(false);
            row[column + "Ref"] = secretName;
            row[column] = Array.Empty<byte>(); // a key written here before the vault existed is replaced by the reference
        }
    }

    private async Task<byte[]?> ReadKeyAsync(TableEntity row, string column, CancellationToken cancellationToken)
    {
        if (row.ReadString(column + "Ref") is { Length: > 0 } secretName)
        {
            // Kept in the vault: without access to it this process cannot sign (it logs nothing secret, just skips).
            return secrets is null ? null : await secrets.GetAsync(secretName, cancellationToken).ConfigureAwait(false);
        }
        return row.ReadBinary(column);
    }

    public async Task<DkimKeyInfo?> GetDkimKeyAsync(string domain, CancellationToken cancellationToken = default)
    {
        if (!MailAddress.TryNormalizeDomain(domain, out var name, out _))
            return null;
        var row = await table.GetRowAsync(name, DomainRow, ["DkimSelector", "DkimKey", "DkimKeyRef", "DkimEdSelector", "DkimEdKey", "DkimEdKeyRef"], cancellationToken).ConfigureAwait(false);
        if (row is null)
            return null;
        var key = await ReadKeyAsync(row, "DkimKey", cancellationToken).ConfigureAwait(false);
        var ed = await ReadKeyAsync(row, "DkimEdKey", cancellationToken).ConfigureAwait(false);
        return key is { Length: > 0 }
            ? new DkimKeyInfo(row.ReadString("DkimSelector") ?? DkimSelector, key, row.ReadString("DkimEdSelector") ?? DkimEd25519Selector, ed is { Length: 32 } ? ed : null)
            : null;
    }

    public async Task<DkimKeyInfo> EnsureDkimKeyAsync(string domain, CancellationToken cancellationToken = default)
    {
        var name = NormalizeDomain(domain);
        var existing = await GetDkimKeyAsync(name, cancellationToken).ConfigureAwait(false);
        if (existing?.Ed25519Key is not null)
            return existing;
        // Missing keys are made; a domain added before Ed25519 signing existed gets its Ed25519 key here.
        byte[] rsaKey;
        if (existing is not null)
            rsaKey = existing.PrivateKey;
        else
        {
            using var key = System.Security.Cryptography.RSA.Create(2048);
            rsaKey = key.ExportPkcs8PrivateKey();
        }
        var info = new DkimKeyInfo(existing?.Selector ?? DkimSelector, rsaKey, DkimEd25519Selector, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        try
        {
            if (await table.GetRowAsync(name, DomainRow, ["RowKey"], cancellationToken).ConfigureAwait(false) is null)
                throw new RequestFailedException(404, "no domain row");
            var row = new TableEntity(name, DomainRow);
            await PutDkimKeysAsync(row, info, cancellationToken).ConfigureAwait(false);
            await table.UpdateRowAsync(row, ETag.All, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new DirectoryException(DirectoryErrorKind.NotFound, $"domain {name} is not hosted here");
        }
        return info;
    }

    public async Task SetCatchAllAsync(string domain, MailAddress? target, CancellationToken cancellationToken = default)
    {
        var name = NormalizeDomain(domain);
        var row = await table.GetRowAsync(name, DomainRow, cancellationToken: cancellationToken).ConfigureAwait(false)
            ?? throw new DirectoryException(DirectoryErrorKind.NotFound, $"domain {name} is not hosted here");
        if (target is null)
            row.Remove("CatchAll");
        else
            row["CatchAll"] = target.Address;
        await table.UpdateRowAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    public async Task SetSpamPolicyAsync(string domain, SpamPolicy? policy, CancellationToken cancellationToken = default)
    {
        if (policy is not null)
            SpamPolicy.Validate(policy);
        var name = NormalizeDomain(domain);
        var row = await table.GetRowAsync(name, DomainRow, cancellationToken: cancellationToken).ConfigureAwait(false)
            ?? throw new DirectoryException(DirectoryErrorKind.NotFound, $"domain {name} is not hosted here");
        row.Remove("SpamJunk");
        row.Remove("SpamQuarantine");
        if (policy is not null)
        {
            row["SpamJunk"] = policy.JunkScore;
            if (policy.QuarantineScore is { } q)
                row["SpamQuarantine"] = q;
        }
        await table.UpdateRowAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ListInfo> AddListAsync(MailAddress list, IReadOnlyList<MailAddress> members, CancellationToken cancellationToken = default)
    {
        if (members.Count == 0)
            throw new DirectoryException(DirectoryErrorKind.InvalidInput, "a list needs at least one member");
        if (members.Contains(list))
            throw new DirectoryException(DirectoryErrorKind.InvalidInput, $"list {list} cannot be its own member");
        await RequireDomainAsync(list.Domain, cancellationToken).ConfigureAwait(false);
        await RequireFreeAsync(list, "list", cancellationToken).ConfigureAwait(false);
        var info = new ListInfo(list, members.Distinct().ToList(), _time.GetUtcNow());
        try
        {
            await table.AddRowAsync(new TableEntity(list.Domain, ListRow(list))
            {
                ["Address"] = list.Address,
                ["Members"] = string.Join('\n', info.Members.Select(m => m.Address)),
                ["Created"] = info.Created,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            throw new DirectoryException(DirectoryErrorKind.AlreadyExists, $"list {list} already exists");
        }
        return info;
    }

    public async Task RemoveListAsync(MailAddress list, CancellationToken cancellationToken = default)
    {
        if (!await table.DeleteRowAsync(list.Domain, ListRow(list), cancellationToken: cancellationToken).ConfigureAwait(false))
            throw new DirectoryException(DirectoryErrorKind.NotFound, $"no list {list}");
    }

    public async Task<IReadOnlyList<ListInfo>> ListListsAsync(string? domain = null, CancellationToken cancellationToken = default)
    {
        var filter = TableFilter.RowKeyPrefix(ListPrefix);
        if (domain is not null)
            filter = TableFilter.And(TableFilter.PartitionKey(NormalizeDomain(domain)), filter);
        var list = new List<ListInfo>();
        await foreach (var e in table.QueryRowsAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            list.Add(ToList(e));
        return list.OrderBy(l => l.Address.Domain, StringComparer.Ordinal).ThenBy(l => l.Address.LocalKey, StringComparer.Ordinal).ToList();
    }

    private static ListInfo ToList(TableEntity e) => new(
        MailAddress.Parse(e.ReadString("Address") ?? throw new InvalidDataException($"list row {e.RowKey} has no Address")),
        (e.ReadString("Members") ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(MailAddress.Parse).ToList(),
        e.ReadDate("Created") ?? e.Timestamp ?? default);

    private async Task RequireDomainAsync(string domain, CancellationToken cancellationToken)
    {
        if (await table.GetRowAsync(domain, DomainRow, ["RowKey"], cancellationToken).ConfigureAwait(false) is null)
            throw new DirectoryException(DirectoryErrorKind.DomainNotHosted, $"domain {domain} is not hosted here (add it with: mailcloud domain add {domain})");
    }

    private static void ValidatePassword(string password)
    {
        if (string.IsNullOrEmpty(password))
            throw new DirectoryException(DirectoryErrorKind.InvalidInput, "the password is empty");
        if (password.Length < 8)
            throw new DirectoryException(DirectoryErrorKind.InvalidInput, "the password must have at least 8 characters");
        try
        {
            SaslPrep.Prepare(password);
        }
        catch (ArgumentException e)
        {
            throw new DirectoryException(DirectoryErrorKind.InvalidInput, e.Message);
        }
    }

    private static DomainInfo ToDomain(TableEntity e) => new(e.PartitionKey, e.ReadDate("Created") ?? e.Timestamp ?? default,
        MailAddress.TryParse(e.ReadString("CatchAll"), out var catchAll) ? catchAll : null,
        Number(e, "SpamJunk") is { } junk ? new SpamPolicy(junk, Number(e, "SpamQuarantine")) : null);

    private static double? Number(TableEntity e, string name) => e.TryGetValue(name, out var v) ? v switch
    {
        double d => d,
        int i => i,
        long l => l,
        _ => null,
    } : null;

    private static TableEntity ToEntity(UserInfo u)
    {
        var e = new TableEntity(u.Address.Domain, UserRow(u.Address))
        {
            ["Address"] = u.Address.Address,
            ["Salt"] = u.Credential.Salt,
            ["Iterations"] = u.Credential.Iterations,
            ["StoredKey"] = u.Credential.StoredKey,
            ["ServerKey"] = u.Credential.ServerKey,
            ["Created"] = u.Created,
            ["Disabled"] = u.Disabled,
            ["AdminRole"] = AdminRoles.Name(u.Role),
        };
        if (u.QuotaBytes is { } q)
            e["QuotaBytes"] = q;
        return e;
    }

    private static UserInfo ToUser(TableEntity e) => new(
        MailAddress.Parse(e.ReadString("Address") ?? throw new InvalidDataException($"user row {e.RowKey} has no Address")),
        e.ReadInt64("QuotaBytes"),
        e.ReadDate("Created") ?? e.Timestamp ?? default,
        new ScramCredential(e.ReadBinary("Salt") ?? [], e.ReadInt32("Iterations") ?? 0, e.ReadBinary("StoredKey") ?? [], e.ReadBinary("ServerKey") ?? []),
        e.ReadBoolean("Disabled") ?? false,
        ReadRole(e.ReadString("AdminRole")));

    private static AliasInfo ToAlias(TableEntity e) => new(
        MailAddress.Parse(e.ReadString("Address") ?? throw new InvalidDataException($"alias row {e.RowKey} has no Address")),
        (e.ReadString("Targets") ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(MailAddress.Parse).ToList(),
        e.ReadDate("Created") ?? e.Timestamp ?? default);
}
