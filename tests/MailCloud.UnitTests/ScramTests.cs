using System.Security.Cryptography;
using System.Text;
using MailCloud.Core;

namespace MailCloud.UnitTests;

public sealed class ScramTests
{
    // RFC 7677 section 3: user "user", password "pencil".
    private const string ClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    private const string ServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private const string ExpectedServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private const string ClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private const string ExpectedServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    private static readonly ScramCredential Pencil = ScramCredential.Create("pencil", 4096, Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="));

    private static ScramSha256Server NewServer(ScramCredential? credential = null) =>
        new((user, _) => Task.FromResult(user == "user" ? credential ?? Pencil : null), ServerNonce);

    [Fact]
    public async Task Rfc7677_test_vector_succeeds_with_stored_verifier_only()
    {
        var server = NewServer();
        Assert.Equal(ExpectedServerFirst, await server.ReceiveClientFirstAsync(ClientFirst));
        Assert.Equal(ExpectedServerFinal, server.ReceiveClientFinal(ClientFinal));
        Assert.Equal(ScramSha256Server.ScramState.Succeeded, server.State);
        Assert.Equal("user", server.UserName);
    }

    [Fact]
    public async Task Wrong_proof_fails()
    {
        var server = NewServer(ScramCredential.Create("not pencil", 4096, Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ==")));
        await server.ReceiveClientFirstAsync(ClientFirst);
        Assert.Null(server.ReceiveClientFinal(ClientFinal));
        Assert.Equal(ScramSha256Server.ScramState.Failed, server.State);
    }

    [Fact]
    public async Task Unknown_user_gets_a_plausible_challenge_then_fails()
    {
        var server = new ScramSha256Server((_, _) => Task.FromResult<ScramCredential?>(null), ServerNonce);
        var first = await server.ReceiveClientFirstAsync("n,,n=nobody,r=abc");
        Assert.NotNull(first);
        Assert.Contains(",s=", first, StringComparison.Ordinal);
        Assert.Null(server.ReceiveClientFinal($"c=biws,r=abc{ServerNonce},p={Convert.ToBase64String(new byte[32])}"));
    }

    [Theory]
    [InlineData("p=tls-unique,,n=user,r=x")] // channel binding requested: not supported
    [InlineData("n,,r=x")] // no user
    [InlineData("n,,n=user")] // no nonce
    [InlineData("garbage")]
    [InlineData("n,,n=us=ZZer,r=x")] // bad saslname escape
    public async Task Malformed_client_first_fails(string clientFirst)
    {
        var server = NewServer();
        Assert.Null(await server.ReceiveClientFirstAsync(clientFirst));
        Assert.Equal(ScramSha256Server.ScramState.Failed, server.State);
    }

    [Fact]
    public async Task An_authorization_identity_equal_to_the_user_is_accepted_with_its_channel_binding()
    {
        // What GNU SASL (mutt) sends: gs2 header "n,a=user,", so c= is base64("n,a=user,"), not "biws".
        const string gs2 = "n,a=user,";
        var server = NewServer();
        var first = await server.ReceiveClientFirstAsync(gs2 + "n=user,r=rOprNGfwEbeRWgbNEkqO");
        Assert.Equal(ExpectedServerFirst, first);
        var binding = Convert.ToBase64String(Encoding.UTF8.GetBytes(gs2));
        var withoutProof = $"c={binding},r=rOprNGfwEbeRWgbNEkqO{ServerNonce}";
        var salted = Rfc2898DeriveBytes.Pbkdf2("pencil", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var authMessage = Encoding.UTF8.GetBytes($"n=user,r=rOprNGfwEbeRWgbNEkqO,{first},{withoutProof}");
        var signature = HMACSHA256.HashData(SHA256.HashData(clientKey), authMessage);
        var proof = clientKey.Zip(signature, (k, g) => (byte)(k ^ g)).ToArray();
        Assert.NotNull(server.ReceiveClientFinal($"{withoutProof},p={Convert.ToBase64String(proof)}"));
        Assert.Equal(ScramSha256Server.ScramState.Succeeded, server.State);

        // The binding must be of the header that was sent: "biws" after "n,a=user," is refused.
        var other = NewServer();
        await other.ReceiveClientFirstAsync(gs2 + "n=user,r=rOprNGfwEbeRWgbNEkqO");
        Assert.Null(other.ReceiveClientFinal(ClientFinal));
    }

    [Fact]
    public async Task Nonce_tampering_fails()
    {
        var server = NewServer();
        await server.ReceiveClientFirstAsync(ClientFirst);
        Assert.Null(server.ReceiveClientFinal(ClientFinal.Replace("hvYD", "XXXX", StringComparison.Ordinal)));
    }

    [Fact]
    public void Plain_password_verifies_against_scram_verifier()
    {
        var credential = ScramCredential.Create("correct horse battery");
        Assert.True(credential.Verify("correct horse battery"));
        Assert.False(credential.Verify("correct horse batterY"));
        Assert.False(credential.Verify(""));
        Assert.Equal(ScramCredential.DefaultIterations, credential.Iterations);
        Assert.Equal(16, credential.Salt.Length);
        // The stored data is not the password, nor the salted password.
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes("correct horse battery"), credential.Salt, credential.Iterations, HashAlgorithmName.SHA256, 32);
        Assert.NotEqual(salted, credential.StoredKey);
        Assert.NotEqual(salted, credential.ServerKey);
    }

    [Fact]
    public void Saslprep_maps_spaces_and_normalises()
    {
        Assert.Equal("I X", SaslPrep.Prepare("I\u00A0X"));
        Assert.Equal("IX", SaslPrep.Prepare("I\u00ADX"));
        Assert.Equal("a", SaslPrep.Prepare("\u00AA"));
        Assert.Throws<ArgumentException>(() => SaslPrep.Prepare("a\u0007b"));
        // Normalised forms verify alike.
        var c = ScramCredential.Create("caf\u00e9 au lait");
        Assert.True(c.Verify("cafe\u0301 au lait"));
    }
}
