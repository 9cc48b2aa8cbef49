namespace MailCloud.Storage;

/// <summary>
/// Where private keys live when a deployment has a vault (Azure Key Vault through MAILCLOUD_KEYVAULT_URI); the
/// directory then keeps only the secret's name. Without one (local runs on Azurite) keys stay in the directory row.
/// </summary>
public interface ISecretStore
{
    Task SetAsync(string name, byte[] value, CancellationToken cancellationToken = default);

    /// <summary>The secret's current value, or null when there is no such secret.</summary>
    Task<byte[]?> GetAsync(string name, CancellationToken cancellationToken = default);
}
