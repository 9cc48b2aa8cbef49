using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace MailCloud.Dkim;

/// <summary>
/// DKIM signing (RFC 6376) with relaxed/relaxed canonicalization: rsa-sha256, or ed25519-sha256 (RFC 8463: PureEdDSA
/// over the SHA-256 of the header data). Produces the DKIM-Signature header to prepend; the message bytes are not
/// changed. Mail signed with both carries two signatures, so verifiers that know only RSA still pass it.
/// </summary>
public sealed partial class DkimSigner
{
    private readonly string _domain;
    private readonly string _selector;
    private readonly string _algorithm;
    private readonly Func<byte[], byte[]> _sign;

    private DkimSigner(string domain, string selector, string algorithm, Func<byte[], byte[]> sign) =>
        (_domain, _selector, _algorithm, _sign) = (domain, selector, algorithm, sign);

    /// <summary>rsa-sha256 with this key (the signer uses it; the caller keeps ownership).</summary>
    public DkimSigner(string domain, string selector, RSA key)
        : this(domain, selector, "rsa-sha256", data => key.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
    {
    }

    /// <summary>ed25519-sha256 with a 32-byte private key (the RFC 8032 seed).</summary>
    public static DkimSigner Ed25519(string domain, string selector, byte[] privateKey)
    {
        var key = privateKey.ToArray();
        return new DkimSigner(domain, selector, "ed25519-sha256", data =>
        {
            using var k = NSec.Cryptography.Key.Import(NSec.Cryptography.SignatureAlgorithm.Ed25519, key, NSec.Cryptography.KeyBlobFormat.RawPrivateKey);
            return NSec.Cryptography.SignatureAlgorithm.Ed25519.Sign(k, SHA256.HashData(data));
        });
    }

    /// <summary>A new Ed25519 private key (32 random bytes, RFC 8032 5.1.5).</summary>
    public static byte[] CreateEd25519Key() => RandomNumberGenerator.GetBytes(32);

    /// <summary>The TXT record of an Ed25519 key: k=ed25519 and the raw 32-byte public key (RFC 8463 4.2).</summary>
    public static string Ed25519DnsRecord(byte[] privateKey)
    {
        using var k = NSec.Cryptography.Key.Import(NSec.Cryptography.SignatureAlgorithm.Ed25519, privateKey, NSec.Cryptography.KeyBlobFormat.RawPrivateKey);
        return "v=DKIM1; k=ed25519; p=" + Convert.ToBase64String(k.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey));
    }

    /// <summary>Signed when present; From always. Listing a name once signs its last occurrence.</summary>
    public static readonly IReadOnlyList<string> DefaultHeaders =
        ["from", "to", "cc", "subject", "date", "message-id", "reply-to", "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding", "list-id", "list-unsubscribe"];

    [GeneratedRegex("[ \t]+")]
    private static partial Regex Whitespace();

    /// <summary>A new 2048-bit RSA key for a domain.</summary>
    public static RSA CreateKey() => RSA.Create(2048);

    /// <summary>The TXT record to publish at <c>selector._domainkey.domain</c>.</summary>
    public static string DnsRecord(RSA key) => "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());

    /// <summary>"DKIM-Signature: ..." with its CRLF, ready to prepend to <paramref name="message"/>.</summary>
    public string Sign(ReadOnlySpan<byte> message, DateTimeOffset now)
    {
        var (headerBlock, body) = Split(message);
        var headers = ParseHeaders(headerBlock);
        if (!headers.Any(h => h.Name.Equals("from", StringComparison.OrdinalIgnoreCase)))
            throw new InvalidOperationException("a message without From cannot be DKIM-signed");

        var bodyHash = Convert.ToBase64String(SHA256.HashData(CanonicalBody(body)));
        var signed = new List<(string Name, string Raw)>();
        var used = new HashSet<int>();
        foreach (var name in DefaultHeaders)
        {
            // Bottom-up: the last instance of a header is the one a verifier pairs with the first h= entry.
            for (int i = headers.Count - 1; i >= 0; i--)
            {
                if (!used.Contains(i) && headers[i].Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    used.Add(i);
                    signed.Add((name, headers[i].Raw));
                    break;
                }
            }
        }
        var tags = $"v=1; a={_algorithm}; c=relaxed/relaxed; d={_domain}; s={_selector}; t={now.ToUnixTimeSeconds()}; h={string.Join(':', signed.Select(s => s.Name))}; bh={bodyHash}; b=";
        var input = new StringBuilder();
        foreach (var (_, raw) in signed)
            input.Append(CanonicalHeader(raw)).Append("\r\n");
        input.Append(CanonicalHeader("DKIM-Signature: " + tags));
        var signature = Convert.ToBase64String(_sign(Encoding.Latin1.GetBytes(input.ToString())));
        // Fold after each "; " (relaxed canonicalization turns the fold back into the single space that was signed).
        return "DKIM-Signature: " + tags.Replace("; ", ";\r\n\t", StringComparison.Ordinal) + signature + "\r\n";
    }

    internal static (byte[] Headers, byte[] Body) Split(ReadOnlySpan<byte> message)
    {
        int crlf = message.IndexOf("\r\n\r\n"u8);
        int lf = message.IndexOf("\n\n"u8);
        if (crlf >= 0 && (lf < 0 || crlf < lf))
            return (message[..(crlf + 2)].ToArray(), message[(crlf + 4)..].ToArray());
        if (lf >= 0)
            return (message[..(lf + 1)].ToArray(), message[(lf + 2)..].ToArray());
        return (message.ToArray(), []);
    }

    internal sealed record RawHeader(string Name, string Raw);

    internal static List<RawHeader> ParseHeaders(byte[] block)
    {
        // Headers are read as Latin-1 so every byte survives canonicalization unchanged (8-bit headers included).
        var text = Encoding.Latin1.GetString(block);
        var result = new List<RawHeader>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line == "\r")
                continue;
            if (line[0] is ' ' or '\t' && result.Count > 0)
                result[^1] = result[^1] with { Raw = result[^1].Raw + "\n" + line };
            else
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                    result.Add(new RawHeader(line[..colon].Trim(), line));
            }
        }
        return result;
    }

    /// <summary>RFC 6376 3.4.2: lower-case name, unfolded, runs of whitespace as one space, none around the colon or at the end.</summary>
    internal static string CanonicalHeader(string raw)
    {
        int colon = raw.IndexOf(':', StringComparison.Ordinal);
        var name = raw[..colon].Trim().ToLowerInvariant();
        var value = raw[(colon + 1)..].Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal);
        value = Whitespace().Replace(value, " ").Trim();
        return name + ":" + value;
    }

    /// <summary>RFC 6376 3.4.4: whitespace runs as one space, none at line ends, no trailing empty lines, CRLF line ends.</summary>
    internal static byte[] CanonicalBody(byte[] body)
    {
        var text = Encoding.Latin1.GetString(body).Replace("\r\n", "\n", StringComparison.Ordinal);
        var lines = text.Split('\n').Select(l => Whitespace().Replace(l, " ").TrimEnd(' ')).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
            lines.RemoveAt(lines.Count - 1);
        if (lines.Count == 0)
            return [];
        return Encoding.Latin1.GetBytes(string.Join("\r\n", lines) + "\r\n");
    }
}

/// <summary>The TXT records a domain publishes for its signing keys (RSA, and Ed25519 when it has one).</summary>
public static class DkimRecords
{
    /// <param name="rsaKey">The RSA private key, PKCS#8.</param>
    public static IReadOnlyList<(string Name, string Value)> For(string domain, string selector, byte[] rsaKey, string? ed25519Selector, byte[]? ed25519Key)
    {
        domain = domain.ToLowerInvariant();
        using var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(rsaKey, out _);
        var records = new List<(string, string)> { ($"{selector}._domainkey.{domain}", DkimSigner.DnsRecord(rsa)) };
        if (ed25519Key is not null && ed25519Selector is not null)
            records.Add(($"{ed25519Selector}._domainkey.{domain}", DkimSigner.Ed25519DnsRecord(ed25519Key)));
        return records;
    }
}
