using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.LocalDev;
using MailCloud.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Directories;

/// <summary>
/// DKIM keys in a vault. Azure Key Vault has no local emulator, so a small HTTPS server here answers what the SDK's
/// SecretClient does: the unauthenticated first request gets the documented 401 bearer challenge, then Set Secret
/// (PUT /secrets/{name}) and Get Secret (GET /secrets/{name}) with the token — a stand-in only for the vault; the
/// client is the real SDK and the directory runs on real Azurite.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class KeyVaultTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Token = "test-token";
    private readonly ConcurrentDictionary<string, string> _secrets = new();
    private readonly List<string> _requests = [];
    private WebApplication? _vault;
    private X509Certificate2 _certificate = null!;
    private Uri _uri = null!;

    public async Task InitializeAsync()
    {
        _certificate = DevCertificate.LoadOrCreate(Path.Combine(Path.GetTempPath(), $"mailcloud-kv-{Guid.NewGuid():N}.pfx"));
        int port = AzuriteProcess.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.UseHttps(_certificate)));
        _vault = builder.Build();
        _vault.Use(async (context, next) =>
        {
            lock (_requests)
                _requests.Add($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString} {context.Request.Headers.Authorization}");
            if (context.Request.Headers.Authorization != $"Bearer {Token}")
            {
                // Key Vault's challenge: where to get a token and for which resource.
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000\", resource=\"https://vault.azure.net\"";
                return;
            }
            await next(context);
        });
        _vault.MapPut("/secrets/{name}", async (string name, HttpRequest request) =>
        {
            using var doc = await JsonDocument.ParseAsync(request.Body);
            _secrets[name] = doc.RootElement.GetProperty("value").GetString()!;
            return Results.Json(new { value = _secrets[name], id = $"{_uri}secrets/{name}/1" });
        });
        _vault.MapGet("/secrets/{name}", (string name) => _secrets.TryGetValue(name, out var v)
            ? Results.Json(new { value = v, id = $"{_uri}secrets/{name}/1" })
            : Results.Json(new { error = new { code = "SecretNotFound", message = "not found" } }, statusCode: 404));
        await _vault.StartAsync();
        _uri = new Uri($"https://127.0.0.1:{port}/");
    }

    public async Task DisposeAsync()
    {
        if (_vault is not null)
            await _vault.DisposeAsync();
    }

    private KeyVaultSecrets Client()
    {
        var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == _certificate.Thumbprint };
        // The vault answers on 127.0.0.1, not *.vault.azure.net: the challenge's resource cannot match the host.
        var options = new Azure.Security.KeyVault.Secrets.SecretClientOptions { Transport = new HttpClientTransport(handler), DisableChallengeResourceVerification = true };
        return new KeyVaultSecrets(_uri, new StaticToken(), options);
    }

    private sealed class StaticToken : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(requestContext.Scopes.Single() == "https://vault.azure.net/.default" ? Token : "wrong scope", DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }

    [Fact]
    public async Task Secrets_round_trip_and_missing_ones_are_null()
    {
        var client = Client();
        await client.SetAsync("dkim-rsa-x", [1, 2, 3, 0, 255]);
        Assert.Equal(new byte[] { 1, 2, 3, 0, 255 }, await client.GetAsync("dkim-rsa-x"));
        Assert.Null(await client.GetAsync("nothing-here"));
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetAsync("bad/name"));
        // After the one challenge, every request carries the token from the credential (scope https://vault.azure.net/.default).
        Assert.All(_requests.Skip(1), r => Assert.EndsWith($"Bearer {Token}", r, StringComparison.Ordinal));
        Assert.Contains(_requests, r => r.StartsWith("PUT /secrets/dkim-rsa-x?api-version=", StringComparison.Ordinal) && r.EndsWith(Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_a_vault_dkim_private_keys_never_touch_the_directory_table()
    {
        var account = azurite.NewAccount();
        var table = account.Tables.GetTableClient(AzuriteFixture.UniqueName("dirkv"));
        await table.CreateIfNotExistsAsync();
        var directory = new TableMailDirectory(table, secrets: Client());
        await directory.AddDomainAsync("vaulted.example");

        var row = await table.GetEntityAsync("vaulted.example", "domain");
        Assert.Empty(row.GetBinary("DkimKey") ?? []);
        Assert.Empty(row.GetBinary("DkimEdKey") ?? []);
        var rsaName = row.GetString("DkimKeyRef")!;
        var edName = row.GetString("DkimEdKeyRef")!;
        Assert.StartsWith("dkim-rsa-vaulted-example-", rsaName, StringComparison.Ordinal);
        Assert.StartsWith("dkim-ed25519-vaulted-example-", edName, StringComparison.Ordinal);

        var keys = (await directory.GetDkimKeyAsync("vaulted.example"))!;
        Assert.Equal(Convert.ToBase64String(keys.PrivateKey), _secrets[rsaName]);
        Assert.Equal(Convert.ToBase64String(keys.Ed25519Key!), _secrets[edName]);
        using var rsa = System.Security.Cryptography.RSA.Create();
        rsa.ImportPkcs8PrivateKey(keys.PrivateKey, out _);
        Assert.Equal(2048, rsa.KeySize);

        // A process without vault access cannot sign for the domain: it gets no key rather than a broken one.
        Assert.Null(await new TableMailDirectory(table).GetDkimKeyAsync("vaulted.example"));
    }
}
