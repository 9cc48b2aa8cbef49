using Azure.Identity;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Data;

/// <summary>Builds the storage account from the MAILCLOUD_* settings: a connection string, or in Azure an account name and managed identity.</summary>
public static class StorageFactory
{
    public static StorageConnection Connection(MailCloudSettings settings)
    {
        if (!settings.HasStorageConnectionString && settings.StorageAccountName is { } account)
            return StorageConnection.FromAccount(account, new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = Environment.GetEnvironmentVariable("AZURE_CLIENT_ID") }));
        return StorageConnection.Parse(settings.StorageConnectionString);
    }

    public static StorageAccount Account(MailCloudSettings settings, StorageClientOptions? options = null) => new(Connection(settings), options);

    /// <summary>Key Vault at MAILCLOUD_KEYVAULT_URI, reached with the managed identity (or the admin's Azure login); null when unset.</summary>
    public static ISecretStore? Secrets(MailCloudSettings settings) =>
        settings.KeyVaultUri is { } uri
            ? new KeyVaultSecrets(uri, new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = Environment.GetEnvironmentVariable("AZURE_CLIENT_ID") }))
            : null;
}
