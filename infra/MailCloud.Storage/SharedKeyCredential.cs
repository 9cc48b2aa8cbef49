using System.Security.Cryptography;
using System.Text;

namespace MailCloud.Storage;

/// <summary>An account name and key. The key never leaves this object except as an HMAC.</summary>
public sealed class SharedKeyCredential
{
    private readonly byte[] _key;

    public SharedKeyCredential(string accountName, string accountKeyBase64)
    {
        AccountName = accountName;
        try
        {
            _key = Convert.FromBase64String(accountKeyBase64);
        }
        catch (FormatException)
        {
            throw new FormatException("AccountKey is not valid base64.");
        }
    }

    public string AccountName { get; }

    public string Sign(string stringToSign) =>
        Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(stringToSign)));

    public override string ToString() => $"SharedKey({AccountName})";
}
