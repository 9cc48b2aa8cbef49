using System.Text.Json.Serialization;
using MailCloud.Core;
using MailCloud.Mime;

namespace MailCloud.Pipeline;

/// <summary>What the filter concluded; stored with every mailbox entry so IMAP and later stages need not recompute it.</summary>
public sealed record Verdict
{
    public bool Spam { get; init; }
    public double SpamScore { get; init; }
    public bool Loop { get; init; }

    /// <summary>RFC 8601 Authentication-Results value for this message.</summary>
    public string AuthenticationResults { get; init; } = "none";

    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Which content scorer ran: "builtin" (<see cref="Content.HeuristicCheck"/>) or "rspamd".</summary>
    public string Engine { get; init; } = "builtin";

    /// <summary>The engine's own action ("no action", "add header", "rewrite subject", "greylist", "soft reject", "reject"); null for the built-in scorer.</summary>
    public string? EngineAction { get; init; }

    /// <summary>The part of <see cref="SpamScore"/> the engine gave (the rest is MailCloud's own checks).</summary>
    public double EngineScore { get; init; }

    /// <summary>What fired, strongest first, as NAME(score).</summary>
    public IReadOnlyList<string> Symbols { get; init; } = [];

    /// <summary>The virus scanner's finding: its signature name.</summary>
    public string? Virus { get; init; }

    /// <summary>"clean", "infected", "unscanned" or null when no scanner is configured.</summary>
    public string? VirusScan { get; init; }

    /// <summary>An engine was down and the operator chose to deliver unscanned (fail-open).</summary>
    public bool Unscanned { get; init; }
}

/// <summary>Work item on the index queue: one message into one user's folder.</summary>
public sealed record IndexWorkItem
{
    [JsonPropertyName("id")] public required string MessageId { get; init; }
    [JsonPropertyName("blob")] public required string MessageBlob { get; init; }
    [JsonPropertyName("size")] public required long Size { get; init; }
    [JsonPropertyName("user")] public required string User { get; init; }
    [JsonPropertyName("folder")] public required string Folder { get; init; }
    [JsonPropertyName("received")] public required DateTimeOffset ReceivedAt { get; init; }
    [JsonPropertyName("verdict")] public required Verdict Verdict { get; init; }
    [JsonPropertyName("summary")] public required MessageSummary Summary { get; init; }

    /// <summary>Header lines served in front of the blob (the verdict); <see cref="Size"/> and <see cref="Summary"/> count them.</summary>
    [JsonPropertyName("prefix")] public byte[]? Prefix { get; init; }

    /// <summary>Envelope sender and Message-ID, hashed: a client's resend of this message is not indexed again.</summary>
    [JsonPropertyName("resend")] public string? ResendKey { get; init; }
}

/// <summary>Work item on the outbound queue: one message to the recipients of one domain (issue #6 delivers it).</summary>
public sealed record OutboundWorkItem
{
    /// <summary>Deterministic (message, sender, domain), so a redelivered inbound item can be recognised by the deliverer.</summary>
    [JsonPropertyName("key")] public required string Key { get; init; }
    [JsonPropertyName("id")] public required string MessageId { get; init; }
    [JsonPropertyName("blob")] public required string MessageBlob { get; init; }
    [JsonPropertyName("sender")] public required string Sender { get; init; }
    [JsonPropertyName("domain")] public required string Domain { get; init; }
    [JsonPropertyName("recipients")] public required IReadOnlyList<EnvelopeRecipient> Recipients { get; init; }
    [JsonPropertyName("envid")] public string? EnvId { get; init; }
    [JsonPropertyName("ret")] public string? Ret { get; init; }
    [JsonPropertyName("received")] public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary>Delivery attempts made so far (0 for a new item); the deliverer re-enqueues with this + 1.</summary>
    [JsonPropertyName("attempt")] public int Attempt { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("smtputf8")] public bool SmtpUtf8 { get; init; }
    [JsonPropertyName("body")] public string Body { get; init; } = "7BIT";

    /// <summary>The sender has been told the message is delayed (at most once).</summary>
    [JsonPropertyName("delayNotified")] public bool DelayNotified { get; init; }
}
