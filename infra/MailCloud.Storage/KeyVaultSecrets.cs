using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace MailCloud.Storage;

/// <summary>
/// Azure Key Vault secrets over REST (Set Secret and Get Secret, api-version 7.4) on the same Azure.Core pipeline
/// as the storage clients: bearer token for https://vault.azure.net, retries. Values are bytes, stored base64.
/// </summary>
public sealed class KeyVaultSecrets : ISecretStore
{
    private const string ApiVersion = "7.4";
    private readonly Uri _vault;
    private readonly HttpPipeline _pipeline;

    public KeyVaultSecrets(Uri vault, TokenCredential credential, ClientOptions? options = null)
    {
        _vault = vault;
        _pipeline = HttpPipelineBuilder.Build(options ?? new StorageClientOptions(), new BearerTokenAuthenticationPolicy(credential, "https://vault.azure.net/.default"));
    }

    public async Task SetAsync(string name, byte[] value, CancellationToken cancellationToken = default)
    {
        using var message = Create(RequestMethod.Put, name);
        message.Request.Headers.SetValue("Content-Type", "application/json");
        message.Request.Content = RequestContent.Create(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["value"] = Convert.ToBase64String(value),
            ["contentType"] = "application/octet-stream;base64",
        }));
        await _pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        if (message.Response.Status != 200)
            throw Failure(message.Response);
    }

    public async Task<byte[]?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        using var message = Create(RequestMethod.Get, name);
        await _pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        if (message.Response.Status == 404)
            return null;
        if (message.Response.Status != 200)
            throw Failure(message.Response);
        using var doc = JsonDocument.Parse(message.Response.Content.ToMemory());
        return Convert.FromBase64String(doc.RootElement.GetProperty("value").GetString() ?? string.Empty);
    }

    private HttpMessage Create(RequestMethod method, string name)
    {
        if (name.Length is 0 or > 127 || name.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '-'))
            throw new ArgumentException($"'{name}' is not a valid Key Vault secret name", nameof(name));
        var message = _pipeline.CreateMessage();
        message.Request.Method = method;
        message.Request.Uri.Reset(new Uri(_vault, $"secrets/{name}?api-version={ApiVersion}"));
        return message;
    }

    private static RequestFailedException Failure(Response response)
    {
        string? code = null;
        try
        {
            using var doc = JsonDocument.Parse(response.Content.ToMemory());
            code = doc.RootElement.GetProperty("error").GetProperty("code").GetString();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
        }
        return new RequestFailedException(response.Status, $"Key Vault answered {response.Status} {code}", code, null);
    }

    /// <summary>The secret name of a domain's DKIM key: letters, digits and '-' only, unique per domain (hash suffix).</summary>
    public static string DkimSecretName(string domain, string algorithm)
    {
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(domain)))[..8].ToLowerInvariant();
        var readable = new string(domain.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray());
        return $"dkim-{algorithm}-{readable}"[..Math.Min(100, 6 + algorithm.Length + readable.Length)] + "-" + hash;
    }
}
