using System.Security.Cryptography;
using System.Text;

namespace MailCloud.Core;

/// <summary>
/// What the directory stores instead of a password: SCRAM-SHA-256 verifier data (RFC 5802/7677).
/// It verifies a PLAIN password (recompute StoredKey) and drives a SCRAM exchange, and cannot be turned back into the password.
/// </summary>
public sealed record ScramCredential(byte[] Salt, int Iterations, byte[] StoredKey, byte[] ServerKey)
{
    public const int DefaultIterations = 10_000;
    public const int MinimumIterations = 4096;

    public static ScramCredential Create(string password, int iterations = DefaultIterations, byte[]? salt = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinimumIterations);
        salt ??= RandomNumberGenerator.GetBytes(16);
        var salted = SaltedPassword(password, salt, iterations);
        return new ScramCredential(salt, iterations, StoredKeyFrom(salted), ServerKeyFrom(salted));
    }

    /// <summary>Checks a clear-text password (SASL PLAIN, LOGIN, IMAP LOGIN) in constant time.</summary>
    public bool Verify(string password)
    {
        var salted = SaltedPassword(password, Salt, Iterations);
        return CryptographicOperations.FixedTimeEquals(StoredKeyFrom(salted), StoredKey);
    }

    internal static byte[] SaltedPassword(string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(SaslPrep.Prepare(password)), salt, iterations, HashAlgorithmName.SHA256, 32);

    internal static byte[] ClientKey(byte[] saltedPassword) => HMACSHA256.HashData(saltedPassword, "Client Key"u8);

    internal static byte[] StoredKeyFrom(byte[] saltedPassword) => SHA256.HashData(ClientKey(saltedPassword));

    internal static byte[] ServerKeyFrom(byte[] saltedPassword) => HMACSHA256.HashData(saltedPassword, "Server Key"u8);
}

/// <summary>
/// SASLprep (RFC 4013) as far as passwords need it: non-ASCII spaces become spaces, "mapped to nothing" characters
/// go, NFKC normalisation; prohibited output (controls, private use, surrogates, non-characters) is refused.
/// </summary>
public static class SaslPrep
{
    public static string Prepare(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var rune in value.EnumerateRunes())
        {
            int c = rune.Value;
            if (c is 0x00AD or 0x034F or 0x1806 or 0x180B or 0x180C or 0x180D or 0x200B or 0x200C or 0x200D or 0x2060 or 0xFEFF || c is >= 0xFE00 and <= 0xFE0F)
                continue; // commonly mapped to nothing
            if (c != ' ' && Rune.GetUnicodeCategory(rune) == System.Globalization.UnicodeCategory.SpaceSeparator)
            {
                sb.Append(' ');
                continue;
            }
            sb.Append(rune.ToString());
        }
        var normalized = sb.ToString().Normalize(NormalizationForm.FormKC);
        foreach (var rune in normalized.EnumerateRunes())
        {
            var cat = Rune.GetUnicodeCategory(rune);
            if (cat is System.Globalization.UnicodeCategory.Control or System.Globalization.UnicodeCategory.PrivateUse or System.Globalization.UnicodeCategory.Surrogate
                || (rune.Value & 0xFFFE) == 0xFFFE || rune.Value is >= 0xFDD0 and <= 0xFDEF)
                throw new ArgumentException("The password contains a character SASLprep prohibits (control, private-use or non-character).");
        }
        return normalized;
    }
}
