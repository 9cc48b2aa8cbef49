using System.Text.Json.Serialization;

namespace MailCloud.Core;

/// <summary>A user's judgement of one message: moved into Junk (spam) or out of it (ham). The learn stage teaches the engine.</summary>
public sealed record LearnWorkItem
{
    [JsonPropertyName("user")] public required string User { get; init; }
    [JsonPropertyName("blob")] public required string MessageBlob { get; init; }
    [JsonPropertyName("spam")] public required bool Spam { get; init; }
}

/// <summary>
/// Where the access protocols report a user's spam/ham judgement. It must not block the command that caused it:
/// implementations only put a work item on a queue (or do nothing when no engine learns).
/// </summary>
public interface ISpamTraining
{
    Task ReportAsync(MailAddress user, IReadOnlyList<string> blobs, bool spam, CancellationToken cancellationToken = default);
}

public sealed class NoSpamTraining : ISpamTraining
{
    public static readonly NoSpamTraining Instance = new();

    public Task ReportAsync(MailAddress user, IReadOnlyList<string> blobs, bool spam, CancellationToken cancellationToken = default) => Task.CompletedTask;
}

/// <summary>Which moves teach what: into the \Junk folder is spam; out of it into anything but Trash is ham.</summary>
public static class JunkMoves
{
    /// <summary>True (spam), false (ham) or null (nothing to learn) for a copy or move from <paramref name="fromJunk"/> to <paramref name="toUse"/>.</summary>
    public static bool? Judgement(bool fromJunk, string? toUse) => toUse switch
    {
        @"\Junk" when !fromJunk => true,
        @"\Junk" => null,
        @"\Trash" => null,
        _ => fromJunk ? false : null,
    };
}
