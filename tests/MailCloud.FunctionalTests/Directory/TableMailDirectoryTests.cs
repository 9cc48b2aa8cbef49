using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Directories;

[Collection(AzuriteCollection.Name)]
public sealed class TableMailDirectoryTests(AzuriteFixture azurite)
{
    private static MailAddress A(string s) => MailAddress.Parse(s);

    private async Task<(TableMailDirectory Directory, StorageAccount Account)> NewDirectoryAsync()
    {
        var account = azurite.NewAccount();
        var table = account.Tables.GetTableClient(AzuriteFixture.UniqueName("dir"));
        await table.CreateIfNotExistsAsync();
        return (new TableMailDirectory(table), account);
    }

    [Fact]
    public async Task Domains_add_list_remove_and_refuse_duplicates_and_junk()
    {
        var (d, _) = await NewDirectoryAsync();
        Assert.Equal("example.test", (await d.AddDomainAsync("Example.TEST")).Name);
        await d.AddDomainAsync("bücher.example");
        Assert.Equal(["example.test", "xn--bcher-kva.example"], (await d.ListDomainsAsync()).Select(x => x.Name));

        var dup = await Assert.ThrowsAsync<DirectoryException>(() => d.AddDomainAsync("example.test"));
        Assert.Equal(DirectoryErrorKind.AlreadyExists, dup.Kind);
        var bad = await Assert.ThrowsAsync<DirectoryException>(() => d.AddDomainAsync("not a domain"));
        Assert.Equal(DirectoryErrorKind.InvalidInput, bad.Kind);

        await d.AddUserAsync(A("alice@example.test"), "password-1");
        var notEmpty = await Assert.ThrowsAsync<DirectoryException>(() => d.RemoveDomainAsync("example.test"));
        Assert.Equal(DirectoryErrorKind.NotEmpty, notEmpty.Kind);
        await d.RemoveDomainAsync("example.test", force: true);
        Assert.Null(await d.GetDomainAsync("example.test"));
        Assert.Empty(await d.ListUsersAsync("xn--bcher-kva.example"));
        var gone = await Assert.ThrowsAsync<DirectoryException>(() => d.RemoveDomainAsync("example.test"));
        Assert.Equal(DirectoryErrorKind.NotFound, gone.Kind);
    }

    [Fact]
    public async Task Users_are_stored_without_clear_passwords_and_verify_plain()
    {
        var (d, account) = await NewDirectoryAsync();
        await d.AddDomainAsync("example.test");
        var alice = await d.AddUserAsync(A("Alice@example.test"), "correct horse", 500L * 1024 * 1024);
        Assert.Equal(500L * 1024 * 1024, alice.QuotaBytes);

        // Nothing in the stored row contains the password.
        var row = await d.Table.GetEntityAsync("example.test", "user:alice");
        foreach (var (_, value) in row)
        {
            Assert.NotEqual("correct horse", value as string);
            if (value is byte[] bytes)
                Assert.DoesNotContain("correct horse", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        }

        Assert.NotNull(await d.VerifyPasswordAsync("alice@example.test", "correct horse"));
        Assert.NotNull(await d.VerifyPasswordAsync("ALICE@EXAMPLE.TEST", "correct horse"));
        Assert.Null(await d.VerifyPasswordAsync("alice@example.test", "wrong horse"));
        Assert.Null(await d.VerifyPasswordAsync("nobody@example.test", "correct horse"));
        Assert.Null(await d.VerifyPasswordAsync("not an address", "correct horse"));

        // SCRAM works from the same stored data.
        var scram = new ScramSha256Server(async (user, ct) => (await d.GetUserAsync(A(user), ct))?.Credential);
        var serverFirst = await scram.ReceiveClientFirstAsync("n,,n=alice@example.test,r=clientnonce");
        Assert.NotNull(serverFirst);
        Assert.Equal(ScramSha256Server.ScramState.ServerFirstSent, scram.State);

        await d.SetPasswordAsync(A("alice@example.test"), "battery staple");
        Assert.Null(await d.VerifyPasswordAsync("alice@example.test", "correct horse"));
        Assert.NotNull(await d.VerifyPasswordAsync("alice@example.test", "battery staple"));

        await d.SetQuotaAsync(A("alice@example.test"), null);
        Assert.Null((await d.GetUserAsync(A("alice@example.test")))!.QuotaBytes);
        await d.SetQuotaAsync(A("alice@example.test"), 1024);
        Assert.Equal(1024, (await d.GetUserAsync(A("alice@example.test")))!.QuotaBytes);
        _ = account;
    }

    [Fact]
    public async Task User_errors_are_specific()
    {
        var (d, _) = await NewDirectoryAsync();
        await d.AddDomainAsync("example.test");
        await d.AddUserAsync(A("bob@example.test"), "password-1");

        Assert.Equal(DirectoryErrorKind.AlreadyExists, (await Assert.ThrowsAsync<DirectoryException>(() => d.AddUserAsync(A("BOB@example.test"), "password-2"))).Kind);
        Assert.Equal(DirectoryErrorKind.DomainNotHosted, (await Assert.ThrowsAsync<DirectoryException>(() => d.AddUserAsync(A("bob@elsewhere.test"), "password-2"))).Kind);
        Assert.Equal(DirectoryErrorKind.InvalidInput, (await Assert.ThrowsAsync<DirectoryException>(() => d.AddUserAsync(A("carol@example.test"), "short"))).Kind);
        Assert.Equal(DirectoryErrorKind.NotFound, (await Assert.ThrowsAsync<DirectoryException>(() => d.RemoveUserAsync(A("carol@example.test")))).Kind);
        Assert.Equal(DirectoryErrorKind.NotFound, (await Assert.ThrowsAsync<DirectoryException>(() => d.SetPasswordAsync(A("carol@example.test"), "password-3"))).Kind);
        Assert.Equal(DirectoryErrorKind.NotFound, (await Assert.ThrowsAsync<DirectoryException>(() => d.SetQuotaAsync(A("carol@example.test"), 5))).Kind);

        await d.RemoveUserAsync(A("bob@example.test"));
        Assert.Null(await d.GetUserAsync(A("bob@example.test")));
    }

    [Fact]
    public async Task Aliases_and_recipient_resolution()
    {
        var (d, account) = await NewDirectoryAsync();
        await d.AddDomainAsync("example.test");
        await d.AddUserAsync(A("alice@example.test"), "password-1");
        await d.AddAliasAsync(A("postmaster@example.test"), [A("alice@example.test"), A("ops@remote.example")]);
        // Local parts with characters Table keys forbid still work.
        await d.AddAliasAsync(A("sales/eu#1@example.test"), [A("alice@example.test")]);

        Assert.Equal(DirectoryErrorKind.AlreadyExists, (await Assert.ThrowsAsync<DirectoryException>(() => d.AddAliasAsync(A("alice@example.test"), [A("x@example.test")]))).Kind);
        Assert.Equal(DirectoryErrorKind.AlreadyExists, (await Assert.ThrowsAsync<DirectoryException>(() => d.AddUserAsync(A("postmaster@example.test"), "password-1"))).Kind);
        Assert.Equal(DirectoryErrorKind.InvalidInput, (await Assert.ThrowsAsync<DirectoryException>(() => d.AddAliasAsync(A("loop@example.test"), [A("loop@example.test")]))).Kind);

        account.RequestCounter.Reset();
        var user = await d.ResolveRecipientAsync(A("Alice@Example.test"));
        Assert.Equal(1, account.RequestCounter.Total); // one partition query per lookup
        Assert.Equal(RecipientKind.User, user.Kind);
        Assert.Equal("alice@example.test", user.User!.Address.Address);

        var alias = await d.ResolveRecipientAsync(A("postmaster@example.test"));
        Assert.Equal(RecipientKind.Alias, alias.Kind);
        Assert.Equal(["alice@example.test", "ops@remote.example"], alias.Targets!.Select(t => t.Address));
        Assert.Equal(RecipientKind.Alias, (await d.ResolveRecipientAsync(A("sales/eu#1@example.test"))).Kind);
        Assert.Equal(RecipientKind.Unknown, (await d.ResolveRecipientAsync(A("nobody@example.test"))).Kind);
        Assert.Equal(RecipientKind.NotHosted, (await d.ResolveRecipientAsync(A("alice@elsewhere.test"))).Kind);

        Assert.Equal(2, (await d.ListAliasesAsync("example.test")).Count);
        await d.RemoveAliasAsync(A("postmaster@example.test"));
        Assert.Equal(RecipientKind.Unknown, (await d.ResolveRecipientAsync(A("postmaster@example.test"))).Kind);
        Assert.Equal(DirectoryErrorKind.NotFound, (await Assert.ThrowsAsync<DirectoryException>(() => d.RemoveAliasAsync(A("postmaster@example.test")))).Kind);
    }

    [Fact]
    public async Task Cache_serves_repeated_lookups_without_storage_requests()
    {
        var (d, account) = await NewDirectoryAsync();
        await d.AddDomainAsync("example.test");
        await d.AddUserAsync(A("alice@example.test"), "password-1");
        var cached = new CachingMailDirectory(d, TimeSpan.FromMinutes(1));

        account.RequestCounter.Reset();
        for (int i = 0; i < 5; i++)
            Assert.Equal(RecipientKind.User, (await cached.ResolveRecipientAsync(A("alice@example.test"))).Kind);
        Assert.Equal(1, account.RequestCounter.Total);

        // A write through the cache invalidates it.
        await cached.RemoveUserAsync(A("alice@example.test"));
        Assert.Equal(RecipientKind.Unknown, (await cached.ResolveRecipientAsync(A("alice@example.test"))).Kind);
    }

    [Fact]
    public async Task Concurrent_misses_share_one_read_and_a_failed_read_is_not_kept()
    {
        // The table reached through a proxy that can answer 503 without forwarding (the real Azurite behind it).
        var plan = new MailCloud.FunctionalTests.Storage.FaultPlan();
        await using var proxy = await MailCloud.FunctionalTests.Storage.FaultProxy.StartAsync(azurite.Azurite.TablePort, plan);
        var options = new StorageClientOptions();
        options.Retry.MaxRetries = 0;
        var account = new StorageAccount(StorageConnection.Development("127.0.0.1", azurite.Azurite.BlobPort, azurite.Azurite.QueuePort, proxy.Port), options);
        var table = account.Tables.GetTableClient(AzuriteFixture.UniqueName("dir"));
        await table.CreateIfNotExistsAsync();
        var d = new TableMailDirectory(table);
        await d.AddDomainAsync("example.test");
        await d.AddUserAsync(A("alice@example.test"), "password-1");
        var cached = new CachingMailDirectory(d, TimeSpan.FromMinutes(1));

        // Storage down: the lookup fails (a temporary failure for the caller), and the failure is not cached.
        plan.FailBefore = 1.0;
        await Assert.ThrowsAnyAsync<Exception>(() => cached.GetUserAsync(A("alice@example.test")));
        plan.Heal();

        // A burst of 20 concurrent lookups of one user, all misses: one read.
        account.RequestCounter.Reset();
        var users = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => cached.GetUserAsync(A("alice@example.test")))));
        Assert.All(users, u => Assert.Equal("alice@example.test", u!.Address.Address));
        Assert.Equal(1, account.RequestCounter.Total);

        // A caller that stops waiting does not cancel the read it started: it goes on to storage and the next
        // caller is served from it without a request of its own.
        account.RequestCounter.Reset();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cached.ResolveRecipientAsync(A("alice@example.test"), cancelled.Token));
        for (int waited = 0; account.RequestCounter.Total == 0 && waited < 100; waited++)
            await Task.Delay(50);
        Assert.Equal(RecipientKind.User, (await cached.ResolveRecipientAsync(A("alice@example.test"))).Kind);
        Assert.Equal(1, account.RequestCounter.Total);
    }
}
