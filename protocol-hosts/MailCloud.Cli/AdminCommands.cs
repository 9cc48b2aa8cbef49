using System.CommandLine;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.Cli;

/// <summary><c>domain</c>, <c>user</c> and <c>alias</c> commands, against the storage in MAILCLOUD_STORAGE.</summary>
internal static class AdminCommands
{
    private static TableMailDirectory OpenDirectory()
    {
        var settings = new MailCloudSettings();
        var account = StorageFactory.Account(settings, StorageClientOptions.FailFast());
        return StorageProvisioner.Directory(account, StorageFactory.Secrets(settings));
    }

    /// <summary>Runs a command against the directory; creating the table on first use so admin works before the first `up`.</summary>
    internal static Task<int> WithDirectory(Func<TableMailDirectory, Task<int>> action) => CliErrors.RunAsync(async () =>
    {
        var directory = OpenDirectory();
        try
        {
            return await action(directory);
        }
        catch (Azure.RequestFailedException e) when (e.ErrorCode == "TableNotFound")
        {
            await directory.Table.CreateIfNotExistsAsync();
            return await action(directory);
        }
    });

    private static MailAddress Address(string text) =>
        MailAddress.TryParse(text, out var a, out var error) ? a : throw new FormatException($"invalid address {error}");

    private static long? Quota(string? text)
    {
        if (text is null || text.Equals("unlimited", StringComparison.OrdinalIgnoreCase) || text.Equals("none", StringComparison.OrdinalIgnoreCase))
            return null;
        return ByteSize.TryParse(text, out var bytes) ? bytes : throw new FormatException($"invalid quota '{text}' (use e.g. 500M, 2G or unlimited)");
    }

    private static string FormatQuota(long? q) => q is { } b ? ByteSize.Format(b) : "unlimited";

    public static Command Domain()
    {
        var domain = new Command("domain", "Manage hosted domains.");

        var name = new Argument<string>("domain") { Description = "Domain name, e.g. example.com" };
        var add = new Command("add", "Host a domain.") { name };
        add.SetAction((p, ct) => WithDirectory(async d =>
        {
            var info = await d.AddDomainAsync(p.GetValue(name)!, ct);
            Console.WriteLine($"added domain {info.Name}");
            return CliErrors.Ok;
        }));

        var list = new Command("list", "List hosted domains.");
        list.SetAction((p, ct) => WithDirectory(async d =>
        {
            foreach (var info in await d.ListDomainsAsync(ct))
                Console.WriteLine(info.Name);
            return CliErrors.Ok;
        }));

        var removeName = new Argument<string>("domain") { Description = "Domain name" };
        var force = new Option<bool>("--force") { Description = "Also remove the domain's users and aliases" };
        var remove = new Command("remove", "Stop hosting a domain.") { removeName, force };
        remove.SetAction((p, ct) => WithDirectory(async d =>
        {
            await d.RemoveDomainAsync(p.GetValue(removeName)!, p.GetValue(force), ct);
            Console.WriteLine($"removed domain {p.GetValue(removeName)!.ToLowerInvariant()}");
            return CliErrors.Ok;
        }));

        var caDomain = new Argument<string>("domain") { Description = "Domain name" };
        var caTarget = new Argument<string>("target") { Description = "Address that gets mail for unknown names, or 'none'" };
        var catchAll = new Command("catchall", "Set or clear the domain's catch-all address.") { caDomain, caTarget };
        catchAll.SetAction((p, ct) => WithDirectory(async d =>
        {
            var target = p.GetValue(caTarget)!;
            var address = target.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : Address(target);
            await d.SetCatchAllAsync(p.GetValue(caDomain)!, address, ct);
            Console.WriteLine(address is null ? $"catch-all removed for {p.GetValue(caDomain)}" : $"catch-all for {p.GetValue(caDomain)} -> {address}");
            return CliErrors.Ok;
        }));

        domain.Subcommands.Add(add);
        domain.Subcommands.Add(list);
        domain.Subcommands.Add(remove);
        domain.Subcommands.Add(catchAll);
        domain.Subcommands.Add(SpamCommands.DomainSpam());
        return domain;
    }

    private static string ReadPassword(string? given, bool fromStdin)
    {
        if (given is not null && fromStdin)
            throw new FormatException("give either --password or --password-stdin, not both");
        if (given is not null)
            return given;
        if (fromStdin)
            return Console.In.ReadLine() ?? throw new FormatException("no password on standard input");
        throw new FormatException("a password is required: --password P or --password-stdin");
    }

    public static Command User()
    {
        var user = new Command("user", "Manage mailbox users.");

        var addAddress = new Argument<string>("address") { Description = "The user's address, e.g. alice@example.com" };
        var password = new Option<string>("--password") { Description = "The password (visible to other local users in the process list; prefer --password-stdin)" };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from the first line of standard input" };
        var quota = new Option<string>("--quota") { Description = "Mailbox quota, e.g. 500M, 2G, unlimited (default)" };
        var add = new Command("add", "Create a user.") { addAddress, password, passwordStdin, quota };
        add.SetAction((p, ct) => WithDirectory(async d =>
        {
            var address = Address(p.GetValue(addAddress)!);
            var q = Quota(p.GetValue(quota));
            var info = await d.AddUserAsync(address, ReadPassword(p.GetValue(password), p.GetValue(passwordStdin)), q, ct);
            Console.WriteLine($"added user {info.Address} (quota {FormatQuota(info.QuotaBytes)})");
            return CliErrors.Ok;
        }));

        var domainFilter = new Argument<string?>("domain") { Description = "Only this domain", Arity = ArgumentArity.ZeroOrOne };
        var list = new Command("list", "List users.") { domainFilter };
        list.SetAction((p, ct) => WithDirectory(async d =>
        {
            foreach (var u in await d.ListUsersAsync(p.GetValue(domainFilter), ct))
                Console.WriteLine($"{u.Address}\tquota {FormatQuota(u.QuotaBytes)}{(u.Disabled ? "\tdisabled" : "")}{(u.Role == AdminRole.None ? "" : $"\tadmin {AdminRoles.Name(u.Role)}")}");
            return CliErrors.Ok;
        }));

        var removeAddress = new Argument<string>("address") { Description = "The user's address" };
        var remove = new Command("remove", "Delete a user (the mailbox's messages are not deleted by this command).") { removeAddress };
        remove.SetAction((p, ct) => WithDirectory(async d =>
        {
            var address = Address(p.GetValue(removeAddress)!);
            await d.RemoveUserAsync(address, ct);
            Console.WriteLine($"removed user {address}");
            return CliErrors.Ok;
        }));

        var pwAddress = new Argument<string>("address") { Description = "The user's address" };
        var pwPassword = new Option<string>("--password") { Description = "The new password" };
        var pwStdin = new Option<bool>("--password-stdin") { Description = "Read the new password from standard input" };
        var passwd = new Command("passwd", "Set a user's password.") { pwAddress, pwPassword, pwStdin };
        passwd.SetAction((p, ct) => WithDirectory(async d =>
        {
            var address = Address(p.GetValue(pwAddress)!);
            await d.SetPasswordAsync(address, ReadPassword(p.GetValue(pwPassword), p.GetValue(pwStdin)), ct);
            Console.WriteLine($"password changed for {address}");
            return CliErrors.Ok;
        }));

        var qAddress = new Argument<string>("address") { Description = "The user's address" };
        var qSize = new Argument<string>("size") { Description = "e.g. 500M, 2G, unlimited" };
        var quotaCmd = new Command("quota", "Set a user's mailbox quota.") { qAddress, qSize };
        quotaCmd.SetAction((p, ct) => WithDirectory(async d =>
        {
            var address = Address(p.GetValue(qAddress)!);
            var q = Quota(p.GetValue(qSize));
            await d.SetQuotaAsync(address, q, ct);
            Console.WriteLine($"quota for {address}: {FormatQuota(q)}");
            return CliErrors.Ok;
        }));

        foreach (var (name, disabled) in new[] { ("disable", true), ("enable", false) })
        {
            var address = new Argument<string>("address") { Description = "The user's address" };
            var command = new Command(name, disabled
                ? "Refuse every sign-in of the user (SMTP AUTH, IMAP, POP3, webmail, admin UI); their mail is still accepted."
                : "Allow a disabled user to sign in again.") { address };
            command.SetAction((p, ct) => WithDirectory(async d =>
            {
                var a = Address(p.GetValue(address)!);
                await d.SetDisabledAsync(a, disabled, ct);
                Console.WriteLine($"{(disabled ? "disabled" : "enabled")} {a}");
                return CliErrors.Ok;
            }));
            user.Subcommands.Add(command);
        }

        var adminAddress = new Argument<string>("address") { Description = "The user's address" };
        var role = new Argument<string>("role") { Description = "none, domain (administers their own domain) or global (the whole server)" };
        role.AcceptOnlyFromAmong("none", "domain", "global");
        var adminCmd = new Command("admin", "Let a user sign in to the admin UI (/admin) for their domain or for the whole server, or take that away.") { adminAddress, role };
        adminCmd.SetAction((p, ct) => WithDirectory(async d =>
        {
            var a = Address(p.GetValue(adminAddress)!);
            if (!AdminRoles.TryParse(p.GetValue(role), out var r))
                throw new FormatException($"'{p.GetValue(role)}' is not a role (none, domain, global)");
            await d.SetAdminRoleAsync(a, r, ct);
            Console.WriteLine(r switch
            {
                AdminRole.None => $"{a} administers nothing",
                AdminRole.Domain => $"{a} administers {a.Domain}",
                _ => $"{a} administers the whole server",
            });
            return CliErrors.Ok;
        }));

        user.Subcommands.Add(add);
        user.Subcommands.Add(list);
        user.Subcommands.Add(adminCmd);
        user.Subcommands.Add(remove);
        user.Subcommands.Add(passwd);
        user.Subcommands.Add(quotaCmd);
        return user;
    }

    /// <summary><c>admin-token</c>: a new token for the admin API; only its hash is configured anywhere.</summary>
    public static Command AdminToken()
    {
        var command = new Command("admin-token", "Make a new admin API token: prints it once, and the MAILCLOUD_ADMIN_TOKEN_SHA256 value to configure.");
        command.SetAction(_ =>
        {
            var (token, hash) = MailCloud.Core.AdminToken.New();
            Console.WriteLine($"token (keep it; it is not stored anywhere): {token}");
            Console.WriteLine($"export MAILCLOUD_ADMIN_TOKEN_SHA256={hash}");
            return CliErrors.Ok;
        });
        return command;
    }

    public static Command Dkim()
    {
        var dkim = new Command("dkim", "DKIM signing keys (one per domain, created by 'domain add').");
        var domainArg = new Argument<string>("domain") { Description = "Domain name" };
        var show = new Command("show", "Print the DNS TXT record to publish for the domain's DKIM key.") { domainArg };
        show.SetAction((p, ct) => WithDirectory(async d =>
        {
            var domain = p.GetValue(domainArg)!;
            var key = await d.EnsureDkimKeyAsync(domain, ct);
            // Zone files hold TXT data as quoted strings of at most 255 characters.
            foreach (var (name, record) in MailCloud.Dkim.DkimRecords.For(domain, key.Selector, key.PrivateKey, key.Ed25519Selector, key.Ed25519Key))
                Console.WriteLine($"{name}. IN TXT ( {string.Join(" ", record.Chunk(255).Select(c => "\"" + new string(c) + "\""))} )");
            return CliErrors.Ok;
        }));
        dkim.Subcommands.Add(show);
        return dkim;
    }

    public static Command MailingList()
    {
        var lists = new Command("list", "Manage mailing lists (members get every message; bounces go to LIST-bounces@domain).");

        var listAddress = new Argument<string>("list") { Description = "The list address, in a hosted domain" };
        var members = new Argument<string[]>("member") { Description = "Member addresses", Arity = ArgumentArity.OneOrMore };
        var add = new Command("add", "Create a list.") { listAddress, members };
        add.SetAction((p, ct) => WithDirectory(async d =>
        {
            var info = await d.AddListAsync(Address(p.GetValue(listAddress)!), p.GetValue(members)!.Select(Address).ToList(), ct);
            Console.WriteLine($"added list {info.Address} with {info.Members.Count} member(s); bounces to {info.BounceAddress}");
            return CliErrors.Ok;
        }));

        var domainFilter = new Argument<string?>("domain") { Description = "Only this domain", Arity = ArgumentArity.ZeroOrOne };
        var show = new Command("show", "List mailing lists and their members.") { domainFilter };
        show.SetAction((p, ct) => WithDirectory(async d =>
        {
            foreach (var l in await d.ListListsAsync(p.GetValue(domainFilter), ct))
                Console.WriteLine($"{l.Address}\t{string.Join(", ", l.Members)}");
            return CliErrors.Ok;
        }));

        var removeAddress = new Argument<string>("list") { Description = "The list address" };
        var remove = new Command("remove", "Delete a list.") { removeAddress };
        remove.SetAction((p, ct) => WithDirectory(async d =>
        {
            var a = Address(p.GetValue(removeAddress)!);
            await d.RemoveListAsync(a, ct);
            Console.WriteLine($"removed list {a}");
            return CliErrors.Ok;
        }));

        lists.Subcommands.Add(add);
        lists.Subcommands.Add(show);
        lists.Subcommands.Add(remove);
        return lists;
    }

    public static Command Alias()
    {
        var alias = new Command("alias", "Manage aliases (an address that delivers to one or more other addresses).");

        var aliasAddress = new Argument<string>("alias") { Description = "The alias address, in a hosted domain" };
        var targets = new Argument<string[]>("target") { Description = "Where mail goes: local users or remote addresses", Arity = ArgumentArity.OneOrMore };
        var add = new Command("add", "Create an alias.") { aliasAddress, targets };
        add.SetAction((p, ct) => WithDirectory(async d =>
        {
            var a = Address(p.GetValue(aliasAddress)!);
            var t = p.GetValue(targets)!.Select(Address).ToList();
            var info = await d.AddAliasAsync(a, t, ct);
            Console.WriteLine($"added alias {info.Address} -> {string.Join(", ", info.Targets)}");
            return CliErrors.Ok;
        }));

        var domainFilter = new Argument<string?>("domain") { Description = "Only this domain", Arity = ArgumentArity.ZeroOrOne };
        var list = new Command("list", "List aliases.") { domainFilter };
        list.SetAction((p, ct) => WithDirectory(async d =>
        {
            foreach (var a in await d.ListAliasesAsync(p.GetValue(domainFilter), ct))
                Console.WriteLine($"{a.Address}\t-> {string.Join(", ", a.Targets)}");
            return CliErrors.Ok;
        }));

        var removeAddress = new Argument<string>("alias") { Description = "The alias address" };
        var remove = new Command("remove", "Delete an alias.") { removeAddress };
        remove.SetAction((p, ct) => WithDirectory(async d =>
        {
            var a = Address(p.GetValue(removeAddress)!);
            await d.RemoveAliasAsync(a, ct);
            Console.WriteLine($"removed alias {a}");
            return CliErrors.Ok;
        }));

        alias.Subcommands.Add(add);
        alias.Subcommands.Add(list);
        alias.Subcommands.Add(remove);
        return alias;
    }
}
