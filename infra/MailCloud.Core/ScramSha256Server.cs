using System.Security.Cryptography;
using System.Text;

namespace MailCloud.Core;

/// <summary>
/// Server side of one SCRAM-SHA-256 exchange (RFC 5802, RFC 7677), without channel binding.
/// Steps as data: <see cref="State"/> moves Start → ServerFirstSent → Done/Failed. Knows nothing of the protocol that carries it.
/// </summary>
public sealed class ScramSha256Server
{
    public enum ScramState
    {
        Start,
        ServerFirstSent,
        Succeeded,
        Failed,
    }

    private readonly Func<string, CancellationToken, Task<ScramCredential?>> _lookup;
    private readonly string _serverNonce;
    private string _clientFirstBare = string.Empty;
    private string _serverFirst = string.Empty;
    private string _nonce = string.Empty;
    private ScramCredential? _credential;

    /// <param name="lookup">Finds the stored credential for a (SASLprepped) user name; null when unknown.</param>
    /// <param name="serverNonce">For tests (RFC 7677 vector); random otherwise.</param>
    public ScramSha256Server(Func<string, CancellationToken, Task<ScramCredential?>> lookup, string? serverNonce = null)
    {
        _lookup = lookup;
        _serverNonce = serverNonce ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
    }

    public ScramState State { get; private set; } = ScramState.Start;

    /// <summary>The authenticated user name once <see cref="State"/> is Succeeded.</summary>
    public string? UserName { get; private set; }

    private string? _gs2Header;

    /// <summary>Why the exchange failed (for logs; never shown in full to the client).</summary>
    public string? Error { get; private set; }

    /// <summary>Takes client-first-message and returns server-first-message, or null when the exchange failed.</summary>
    public async Task<string?> ReceiveClientFirstAsync(string clientFirst, CancellationToken cancellationToken = default)
    {
        if (State != ScramState.Start)
            return Fail("unexpected client-first-message");
        // gs2-header: "n,," (no channel binding) or "y,," (client supports it but thinks we do not); "p=" is refused.
        if (!(clientFirst.StartsWith("n,", StringComparison.Ordinal) || clientFirst.StartsWith("y,", StringComparison.Ordinal)))
            return Fail("channel binding not supported");
        int second = clientFirst.IndexOf(',', 2);
        if (second < 0)
            return Fail("malformed gs2 header");
        var authzid = clientFirst[2..second];
        _gs2Header = clientFirst[..(second + 1)];
        _clientFirstBare = clientFirst[(second + 1)..];
        var attrs = ParseAttributes(_clientFirstBare);
        if (attrs is null || !attrs.TryGetValue('n', out var rawUser) || !attrs.TryGetValue('r', out var clientNonce) || clientNonce.Length == 0)
            return Fail("malformed client-first-message");
        if (attrs.ContainsKey('m'))
            return Fail("mandatory extension not supported");
        var user = DecodeSaslName(rawUser);
        if (user is null)
            return Fail("malformed user name");
        // gs2-authzid is "a=" saslname; anything else there once threw out of the exchange (found by afl++).
        if (authzid.Length > 0 && !authzid.StartsWith("a=", StringComparison.Ordinal))
            return Fail("malformed gs2 header");
        if (authzid.Length > 0 && DecodeSaslName(authzid[2..]) != user)
            return Fail("authorization identity differs from authentication identity");
        UserName = user;
        _credential = await _lookup(user, cancellationToken).ConfigureAwait(false);
        // For unknown users continue with a fake salt so the exchange does not reveal which accounts exist.
        var salt = _credential?.Salt ?? SHA256.HashData(Encoding.UTF8.GetBytes("mailcloud-unknown:" + user))[..16];
        var iterations = _credential?.Iterations ?? ScramCredential.DefaultIterations;
        _nonce = clientNonce + _serverNonce;
        _serverFirst = $"r={_nonce},s={Convert.ToBase64String(salt)},i={iterations}";
        State = ScramState.ServerFirstSent;
        return _serverFirst;
    }

    /// <summary>Takes client-final-message; returns server-final-message ("v=..."), or null when authentication failed.</summary>
    public string? ReceiveClientFinal(string clientFinal)
    {
        if (State != ScramState.ServerFirstSent)
            return Fail("unexpected client-final-message");
        int proofAt = clientFinal.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofAt < 0)
            return Fail("missing proof");
        var withoutProof = clientFinal[..proofAt];
        var attrs = ParseAttributes(withoutProof);
        if (attrs is null || !attrs.TryGetValue('c', out var binding) || !attrs.TryGetValue('r', out var nonce))
            return Fail("malformed client-final-message");
        if (nonce != _nonce)
            return Fail("nonce mismatch");
        // c= is the base64 of the gs2 header as sent ("n,," is "biws"; "n,a=user,," with an authorization identity).
        if (binding != Convert.ToBase64String(Encoding.UTF8.GetBytes(_gs2Header!)))
            return Fail("channel binding data mismatch");
        byte[] proof;
        try
        {
            proof = Convert.FromBase64String(clientFinal[(proofAt + 3)..]);
        }
        catch (FormatException)
        {
            return Fail("proof is not base64");
        }
        if (_credential is null || proof.Length != 32)
            return Fail("invalid credentials");

        var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{_serverFirst},{withoutProof}");
        var clientSignature = HMACSHA256.HashData(_credential.StoredKey, authMessage);
        var clientKey = new byte[32];
        for (int i = 0; i < 32; i++)
            clientKey[i] = (byte)(proof[i] ^ clientSignature[i]);
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(clientKey), _credential.StoredKey))
            return Fail("invalid credentials");
        State = ScramState.Succeeded;
        return "v=" + Convert.ToBase64String(HMACSHA256.HashData(_credential.ServerKey, authMessage));
    }

    private string? Fail(string reason)
    {
        State = ScramState.Failed;
        Error = reason;
        return null;
    }

    private static Dictionary<char, string>? ParseAttributes(string message)
    {
        var result = new Dictionary<char, string>();
        foreach (var part in message.Split(','))
        {
            if (part.Length < 2 || part[1] != '=')
                return null;
            result[part[0]] = part[2..];
        }
        return result;
    }

    /// <summary>saslname: "=2C" is ',' and "=3D" is '='; any other '=' is malformed.</summary>
    private static string? DecodeSaslName(string value)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] != '=')
            {
                sb.Append(value[i]);
                continue;
            }
            if (i + 2 >= value.Length)
                return null;
            var code = value.Substring(i + 1, 2);
            if (code == "2C")
                sb.Append(',');
            else if (code == "3D")
                sb.Append('=');
            else
                return null;
            i += 2;
        }
        return sb.ToString();
    }
}
