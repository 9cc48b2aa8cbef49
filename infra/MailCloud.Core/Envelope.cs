using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace MailCloud.Core;

/// <summary>One envelope recipient with its RFC 3461 DSN parameters.</summary>
public sealed record EnvelopeRecipient(
    string Address,
    [property: JsonPropertyName("notify")] string? Notify = null,
    [property: JsonPropertyName("orcpt")] string? OriginalRecipient = null);

/// <summary>TLS details of the session that delivered the message (null when plain text).</summary>
public sealed record TlsInfo(string Protocol, string CipherSuite);

/// <summary>
/// Everything the SMTP front end knew about a message besides its bytes. Stored with the inbound work item;
/// the pipeline stages read it instead of re-deriving anything from headers.
/// </summary>
public sealed record Envelope
{
    /// <summary>Reverse-path; empty for the null sender (&lt;&gt;), which must never receive a bounce.</summary>
    public required string Sender { get; init; }
    public required IReadOnlyList<EnvelopeRecipient> Recipients { get; init; }
    /// <summary>RFC 3461 RET (FULL or HDRS) and ENVID.</summary>
    public string? Ret { get; init; }
    public string? EnvId { get; init; }
    /// <summary>7BIT, 8BITMIME or BINARYMIME.</summary>
    public string Body { get; init; } = "7BIT";
    public bool SmtpUtf8 { get; init; }
    /// <summary>The message came in BDAT chunks (RFC 3030) rather than DATA.</summary>
    public bool Chunked { get; init; }
    /// <summary>The authenticated user (submission or authenticated MX session), null otherwise.</summary>
    public string? AuthenticatedUser { get; init; }
    public required string ClientAddress { get; init; }
    public required string Helo { get; init; }
    public TlsInfo? Tls { get; init; }
    /// <summary>mx or submission: which listener accepted it.</summary>
    public required string Listener { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
}

/// <summary>
/// The work item on the inbound queue: a pointer to the raw message blob plus the envelope (inline when small,
/// else in a blob of its own so any number of recipients fits the 64 KiB queue limit), and for a small message a
/// copy of its bytes, so the inbound stage need not read the blob back.
/// </summary>
public sealed record InboundWorkItem
{
    [JsonPropertyName("v")] public int Version { get; init; } = 1;
    [JsonPropertyName("id")] public required string MessageId { get; init; }
    [JsonPropertyName("blob")] public required string MessageBlob { get; init; }
    [JsonPropertyName("size")] public required long Size { get; init; }
    [JsonPropertyName("envelope")] public Envelope? Envelope { get; init; }
    [JsonPropertyName("envelopeBlob")] public string? EnvelopeBlob { get; init; }

    /// <summary>
    /// The message's bytes as stored in <see cref="MessageBlob"/>, when they fit the queue message beside the rest
    /// (null otherwise). The blob stays the message's one durable home; this saves the inbound stage its Get Blob.
    /// </summary>
    [JsonPropertyName("content")] public byte[]? Content { get; init; }

    /// <summary>How often a content engine could not be reached for this message (the item is re-queued with a delay).</summary>
    [JsonPropertyName("filterAttempts")] public int FilterAttempts { get; init; }

    /// <summary>An administrator released the message from quarantine: deliver to the envelope's recipients without the content engines.</summary>
    [JsonPropertyName("released")] public bool Released { get; init; }
}

public static class MessageIds
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    /// <summary>A time-ordered, URL- and blob-name-safe id: yyyyMMddHHmmssfff + 10 random base32 characters.</summary>
    public static string New(DateTimeOffset now)
    {
        Span<byte> random = stackalloc byte[10];
        RandomNumberGenerator.Fill(random);
        Span<char> tail = stackalloc char[10];
        for (int i = 0; i < tail.Length; i++)
            tail[i] = Alphabet[random[i] & 31];
        return now.UtcDateTime.ToString("yyyyMMddHHmmssfff", System.Globalization.CultureInfo.InvariantCulture) + new string(tail);
    }

    /// <summary>messages/yyyy/MM/dd/&lt;id&gt;.eml: date folders keep listings and lifecycle rules cheap.</summary>
    public static string BlobPath(string id, DateTimeOffset received) =>
        $"{received.UtcDateTime:yyyy}/{received.UtcDateTime:MM}/{received.UtcDateTime:dd}/{id}.eml";
}
