using System.Security.Cryptography;
using System.Text;

namespace MailCloud.Core;

/// <summary>
/// The admin API's bearer token: random, shown once; deployments configure only its SHA-256
/// (<c>MAILCLOUD_ADMIN_TOKEN_SHA256</c>), so the token itself is stored nowhere. Shared by the CLI that makes it and
/// the web front end that checks it.
/// </summary>
public static class AdminToken
{
    /// <summary>A new random token (256 bits, URL-safe) and the hash to configure.</summary>
    public static (string Token, string Sha256) New()
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (token, Hash(token));
    }

    public static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token))).ToLowerInvariant();

    /// <summary>Whether <paramref name="presented"/> is the token whose hash is <paramref name="expectedSha256"/> (constant time).</summary>
    public static bool Matches(string presented, string expectedSha256) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(presented)), Encoding.ASCII.GetBytes(expectedSha256.ToLowerInvariant()));
}
