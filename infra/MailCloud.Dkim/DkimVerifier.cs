using System.Security.Cryptography;
using System.Text;

namespace MailCloud.Dkim;

/// <summary>RFC 8601 result of one DKIM signature.</summary>
public enum DkimResult
{
    Pass,
    Fail,
    Neutral,
    TempError,
    PermError,
}

/// <summary>What a signature said and how it checked out; <see cref="Reason"/> explains anything but a pass.</summary>
public sealed record DkimVerification(string Domain, string Selector, string Algorithm, DkimResult Result, string? Reason = null)
{
    /// <summary>The Authentication-Results clause (RFC 8601 2.7.1).</summary>
    public string ToAuthenticationResult() =>
        $"dkim={Result.ToString().ToLowerInvariant()}{(Reason is null ? string.Empty : $" ({Reason})")} header.d={Domain} header.s={Selector} header.a={Algorithm}";
}

/// <summary>A TXT lookup's outcome: the record (strings joined), none (NXDOMAIN or no TXT), or a temporary failure.</summary>
public sealed record TxtAnswer(string? Text, bool TemporaryFailure = false);

/// <summary>
/// DKIM verification (RFC 6376) of rsa-sha256 and ed25519-sha256 (RFC 8463) signatures with simple or relaxed
/// canonicalization, l= body lengths and x= expiry; rsa-sha1 is refused (RFC 8301). Keys come from
/// <c>selector._domainkey.domain</c> TXT records through the given lookup.
/// </summary>
public static class DkimVerifier
{
    /// <summary>More signatures than this are not checked (a message could carry thousands to waste our time).</summary>
    public const int MaxSignatures = 5;

    public static async Task<IReadOnlyList<DkimVerification>> VerifyAsync(byte[] message, Func<string, CancellationToken, Task<TxtAnswer>> lookup, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (headerBlock, body) = DkimSigner.Split(message);
        var headers = DkimSigner.ParseHeaders(headerBlock);
        var results = new List<DkimVerification>();
        foreach (var signature in headers.Where(h => h.Name.Equals("DKIM-Signature", StringComparison.OrdinalIgnoreCase)).Take(MaxSignatures))
            results.Add(await VerifyOneAsync(signature, headers, body, lookup, now, cancellationToken).ConfigureAwait(false));
        return results;
    }

    private static async Task<DkimVerification> VerifyOneAsync(DkimSigner.RawHeader signature, List<DkimSigner.RawHeader> headers, byte[] body,
        Func<string, CancellationToken, Task<TxtAnswer>> lookup, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var tags = Tags(signature.Raw[(signature.Raw.IndexOf(':', StringComparison.Ordinal) + 1)..]);
        string T(string name) => tags.TryGetValue(name, out var v) ? v : string.Empty;
        var domain = T("d").ToLowerInvariant();
        var selector = T("s");
        var algorithm = T("a").ToLowerInvariant();
        DkimVerification Result(DkimResult r, string? reason = null) => new(domain.Length == 0 ? "unknown" : domain, selector.Length == 0 ? "unknown" : selector, algorithm.Length == 0 ? "unknown" : algorithm, r, reason);

        if (T("v") != "1" || domain.Length == 0 || selector.Length == 0 || T("b").Length == 0 || T("bh").Length == 0 || T("h").Length == 0)
            return Result(DkimResult.PermError, "malformed signature");
        if (algorithm is not ("rsa-sha256" or "ed25519-sha256"))
            return Result(DkimResult.PermError, algorithm == "rsa-sha1" ? "rsa-sha1 is not accepted (RFC 8301)" : "unknown algorithm");
        var signedNames = T("h").Split(':').Select(n => n.Trim()).Where(n => n.Length > 0).ToList();
        if (!signedNames.Any(n => n.Equals("from", StringComparison.OrdinalIgnoreCase)))
            return Result(DkimResult.PermError, "From is not signed");
        if (tags.TryGetValue("x", out var x) && long.TryParse(x, out var expires) && expires < now.ToUnixTimeSeconds())
            return Result(DkimResult.Fail, "signature expired");
        var canon = T("c").ToLowerInvariant().Split('/');
        bool relaxedHeader = canon[0] == "relaxed";
        bool relaxedBody = canon.Length > 1 && canon[1] == "relaxed";
        if (canon[0] is not ("" or "simple" or "relaxed") || canon.Length > 1 && canon[1] is not ("simple" or "relaxed"))
            return Result(DkimResult.PermError, "unknown canonicalization");

        // Body hash first: cheap to check, and no DNS lookup is needed when it fails.
        var canonicalBody = relaxedBody ? DkimSigner.CanonicalBody(body) : SimpleBody(body);
        if (tags.TryGetValue("l", out var l))
        {
            if (!long.TryParse(l, out var length) || length < 0 || length > canonicalBody.Length)
                return Result(DkimResult.PermError, "bad l= body length");
            canonicalBody = canonicalBody[..(int)length];
        }
        byte[] expectedBodyHash;
        byte[] signatureBytes;
        try
        {
            expectedBodyHash = Convert.FromBase64String(Unspace(T("bh")));
            signatureBytes = Convert.FromBase64String(Unspace(T("b")));
        }
        catch (FormatException)
        {
            return Result(DkimResult.PermError, "bad base64");
        }
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(canonicalBody), expectedBodyHash))
            return Result(DkimResult.Fail, "body hash did not verify");

        // The signed header data: the named headers bottom-up, then this signature with an empty b=.
        var input = new StringBuilder();
        var used = new HashSet<int>();
        foreach (var name in signedNames)
        {
            for (int i = headers.Count - 1; i >= 0; i--)
            {
                if (!used.Contains(i) && headers[i].Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    used.Add(i);
                    input.Append(relaxedHeader ? DkimSigner.CanonicalHeader(headers[i].Raw) + "\r\n" : headers[i].Raw + "\n");
                    break;
                }
            }
            // A name with no (more) instances contributes nothing (RFC 6376 5.4.2).
        }
        var withoutB = EmptyB(signature.Raw);
        input.Append(relaxedHeader ? DkimSigner.CanonicalHeader(withoutB) : withoutB.TrimEnd('\r'));
        var data = Encoding.Latin1.GetBytes(input.ToString());

        var answer = await lookup($"{selector}._domainkey.{domain}", cancellationToken).ConfigureAwait(false);
        if (answer.TemporaryFailure)
            return Result(DkimResult.TempError, "key lookup failed");
        if (answer.Text is null)
            return Result(DkimResult.PermError, "no key record");
        var key = Tags(answer.Text);
        var keyType = key.TryGetValue("k", out var k) ? k.ToLowerInvariant() : "rsa";
        if (!key.TryGetValue("p", out var p) || Unspace(p).Length == 0)
            return Result(DkimResult.PermError, "key revoked");
        if (keyType != (algorithm == "rsa-sha256" ? "rsa" : "ed25519"))
            return Result(DkimResult.PermError, "key type does not match the algorithm");
        try
        {
            var publicKey = Convert.FromBase64String(Unspace(p));
            bool ok = algorithm == "rsa-sha256" ? VerifyRsa(publicKey, data, signatureBytes) : VerifyEd25519(publicKey, data, signatureBytes);
            return ok ? Result(DkimResult.Pass) : Result(DkimResult.Fail, "signature did not verify");
        }
        catch (Exception e) when (e is FormatException or CryptographicException or ArgumentException)
        {
            return Result(DkimResult.PermError, "unusable key");
        }
    }

    private static bool VerifyRsa(byte[] publicKey, byte[] data, byte[] signature)
    {
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportSubjectPublicKeyInfo(publicKey, out _);
        }
        catch (CryptographicException)
        {
            rsa.ImportRSAPublicKey(publicKey, out _); // some publish the bare PKCS#1 key
        }
        if (rsa.KeySize < 1024)
            return false; // RFC 8301: keys under 1024 bits must not be trusted
        return rsa.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    private static bool VerifyEd25519(byte[] publicKey, byte[] data, byte[] signature)
    {
        var algorithm = NSec.Cryptography.SignatureAlgorithm.Ed25519;
        if (!NSec.Cryptography.PublicKey.TryImport(algorithm, publicKey, NSec.Cryptography.KeyBlobFormat.RawPublicKey, out var key) || key is null)
            return false;
        return algorithm.Verify(key, SHA256.HashData(data), signature);
    }

    /// <summary>Tag=value list (RFC 6376 3.2); whitespace around names and values ignored.</summary>
    public static Dictionary<string, string> Tags(string text)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in text.Split(';'))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                continue;
            var name = part[..eq].Trim();
            tags.TryAdd(name, part[(eq + 1)..].Trim());
        }
        return tags;
    }

    private static string Unspace(string s) => new(s.Where(c => !char.IsWhiteSpace(c)).ToArray());

    /// <summary>The signature header with the value of its b= tag removed (and everything else left as it was).</summary>
    private static string EmptyB(string raw)
    {
        int colon = raw.IndexOf(':', StringComparison.Ordinal);
        var value = raw[(colon + 1)..];
        int pos = 0;
        while (pos < value.Length)
        {
            int semi = value.IndexOf(';', pos);
            var end = semi < 0 ? value.Length : semi;
            var part = value[pos..end];
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && part[..eq].Trim() == "b")
                return raw[..(colon + 1)] + value[..(pos + eq + 1)] + value[end..];
            pos = end + 1;
        }
        return raw;
    }

    /// <summary>RFC 6376 3.4.3: the body as is, but without empty lines at its end, and one CRLF for an empty body.</summary>
    private static byte[] SimpleBody(byte[] body)
    {
        int end = body.Length;
        while (end >= 2 && body[end - 1] == '\n' && body[end - 2] == '\r' && (end == 2 || end >= 4 && body[end - 3] == '\n' && body[end - 4] == '\r'))
            end -= 2;
        if (end == 0)
            return "\r\n"u8.ToArray();
        var result = body[..end];
        return result.Length >= 2 && result[^2] == '\r' && result[^1] == '\n' ? result : [.. result, (byte)'\r', (byte)'\n'];
    }
}
