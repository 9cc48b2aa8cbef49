using Azure;
using Azure.Core;
using Azure.Security.KeyVault.Secrets;

namespace MailCloud.Storage;

/// <summary>
/// Azure Key Vault secrets through the SDK's <see cref="SecretClient"/> (managed identity or any token credential).
/// Values are bytes, stored base64 with a content type saying so.
/// </summary>
public sealed class KeyVaultSecrets : ISecretStore
{
    private const string Base64ContentType = "application/octet-stream;base64";
    private readonly SecretClient _client;

    public KeyVaultSecrets(Uri vault, TokenCredential credential, SecretClientOptions? options = null) =>
        _client = new SecretClient(vault, credential, options ?? new SecretClientOptions());

    public async Task SetAsync(string name, byte[] value, CancellationToken cancellationToken = default)
    {
        Validate(name);
        var secret = new KeyVaultSecret(name, Convert.ToBase64String(value));
        secret.Properties.ContentType = Base64ContentType;
        await _client.SetSecretAsync(secret, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        Validate(name);
        try
        {
            var secret = await _client.GetSecretAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return Convert.FromBase64String(secret.Value.Value ?? string.Empty);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private static void Validate(string name)
    {
        if (name.Length is 0 or > 127 || name.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '-'))
            throw new ArgumentException($"'{name}' is not a valid Key Vault secret name", nameof(name));
    }

    /// <summary>The secret name of a domain's DKIM key: letters, digits and '-' only, unique per domain (hash suffix).</summary>
    public static string DkimSecretName(string domain, string algorithm)
    {
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(domain)))[..8].ToLowerInvariant();
        var readable = new string(domain.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray());
        return $"dkim-{algorithm}-{readable}"[..Math.Min(100, 6 + algorithm.Length + readable.Length)] + "-" + hash;
    }
}
