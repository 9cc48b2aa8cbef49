using System.Text;
using MailCloud.Core;

namespace MailCloud.Protocols;

public enum SaslStatus
{
    /// <summary>Send <see cref="SaslStep.Challenge"/> (base64-encoded by the protocol) and feed the answer to ContinueAsync.</summary>
    Challenge,
    Success,

    /// <summary>Wrong credentials: the protocol answers its "authentication failed" and counts it for throttling.</summary>
    Failure,

    /// <summary>The client sent something that is not a valid response (bad base64, wrong field count).</summary>
    Malformed,

    /// <summary>The directory could not be read: a temporary failure, not the client's fault.</summary>
    Unavailable,
}

public sealed record SaslStep(SaslStatus Status, string? Challenge = null, UserInfo? User = null);

/// <summary>
/// Server side of the SASL mechanisms MailCloud offers (PLAIN, LOGIN, SCRAM-SHA-256) over the directory, as a
/// small state machine that SMTP (334), IMAP and POP3 ("+ ") frame in their own way. One instance per exchange.
/// </summary>
public sealed class SaslServer(IMailDirectory directory)
{
    public static IReadOnlyList<string> Mechanisms { get; } = ["PLAIN", "LOGIN", "SCRAM-SHA-256"];

    private Func<string, CancellationToken, Task<SaslStep>>? _next;

    public static bool IsSupported(string mechanism) => Mechanisms.Contains(mechanism.ToUpperInvariant());

    /// <summary>Starts an exchange; <paramref name="initialResponse"/> is the base64 initial response (SASL-IR), if any.</summary>
    public async Task<SaslStep> StartAsync(string mechanism, string? initialResponse, CancellationToken cancellationToken)
    {
        switch (mechanism.ToUpperInvariant())
        {
            case "PLAIN":
                return initialResponse is not null ? await PlainAsync(initialResponse, cancellationToken).ConfigureAwait(false) : Challenge(string.Empty, PlainAsync);
            case "LOGIN":
                return initialResponse is not null ? await LoginUserAsync(initialResponse, cancellationToken).ConfigureAwait(false) : Challenge("Username:", LoginUserAsync);
            case "SCRAM-SHA-256":
                var scram = new ScramSha256Server(async (user, ct) =>
                    MailAddress.TryParse(user, out var a) && await directory.GetUserAsync(a, ct).ConfigureAwait(false) is { Disabled: false } u ? u.Credential : null);
                Task<SaslStep> First(string response, CancellationToken ct) => ScramFirstAsync(scram, response, ct);
                return initialResponse is not null ? await First(initialResponse, cancellationToken).ConfigureAwait(false) : Challenge(string.Empty, First);
            default:
                throw new ArgumentException($"unsupported SASL mechanism {mechanism}", nameof(mechanism));
        }
    }

    /// <summary>The client's (base64) answer to the last challenge.</summary>
    public async Task<SaslStep> ContinueAsync(string response, CancellationToken cancellationToken)
    {
        var next = _next ?? throw new InvalidOperationException("no SASL challenge is outstanding");
        _next = null;
        return await next(response.Trim(), cancellationToken).ConfigureAwait(false);
    }

    private SaslStep Challenge(string text, Func<string, CancellationToken, Task<SaslStep>> next)
    {
        _next = next;
        return new SaslStep(SaslStatus.Challenge, text);
    }

    private async Task<SaslStep> PlainAsync(string response, CancellationToken cancellationToken)
    {
        if (!TryDecode(response, out var decoded))
            return new SaslStep(SaslStatus.Malformed);
        var fields = decoded.Split('\0');
        if (fields.Length != 3)
            return new SaslStep(SaslStatus.Malformed);
        // An authorization identity other than the user itself would be "act as someone else": not offered.
        if (fields[0].Length > 0 && !string.Equals(fields[0], fields[1], StringComparison.OrdinalIgnoreCase))
            return new SaslStep(SaslStatus.Failure);
        return await VerifyAsync(fields[1], fields[2], cancellationToken).ConfigureAwait(false);
    }

    private Task<SaslStep> LoginUserAsync(string response, CancellationToken cancellationToken)
    {
        _ = cancellationToken;
        if (!TryDecode(response, out var user))
            return Task.FromResult(new SaslStep(SaslStatus.Malformed));
        return Task.FromResult(Challenge("Password:", (pw64, ct) => TryDecode(pw64, out var pw)
            ? VerifyAsync(user, pw, ct)
            : Task.FromResult(new SaslStep(SaslStatus.Malformed))));
    }

    private async Task<SaslStep> ScramFirstAsync(ScramSha256Server scram, string response, CancellationToken cancellationToken)
    {
        if (!TryDecode(response, out var first))
            return new SaslStep(SaslStatus.Malformed);
        string? serverFirst;
        try
        {
            serverFirst = await scram.ReceiveClientFirstAsync(first, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException)
        {
            return new SaslStep(SaslStatus.Unavailable);
        }
        if (serverFirst is null)
            return new SaslStep(SaslStatus.Failure);
        return Challenge(serverFirst, async (final64, ct) =>
        {
            if (!TryDecode(final64, out var final))
                return new SaslStep(SaslStatus.Malformed);
            var serverFinal = scram.ReceiveClientFinal(final);
            if (serverFinal is null)
                return new SaslStep(SaslStatus.Failure);
            var user = MailAddress.TryParse(scram.UserName, out var a) ? await directory.GetUserAsync(a, ct).ConfigureAwait(false) : null;
            if (user is null)
                return new SaslStep(SaslStatus.Failure);
            // The server signature travels as one more challenge; the client's (empty) answer completes the exchange.
            return Challenge(serverFinal, (_, _) => Task.FromResult(new SaslStep(SaslStatus.Success, User: user)));
        });
    }

    private async Task<SaslStep> VerifyAsync(string user, string password, CancellationToken cancellationToken)
    {
        try
        {
            var verified = await directory.VerifyPasswordAsync(user, password, cancellationToken).ConfigureAwait(false);
            return verified is null ? new SaslStep(SaslStatus.Failure) : new SaslStep(SaslStatus.Success, User: verified);
        }
        catch (ArgumentException)
        {
            return new SaslStep(SaslStatus.Failure); // SASLprep refused the password
        }
        catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException)
        {
            return new SaslStep(SaslStatus.Unavailable);
        }
    }

    private static bool TryDecode(string base64, out string text)
    {
        try
        {
            text = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            return true;
        }
        catch (FormatException)
        {
            text = string.Empty;
            return false;
        }
    }
}
