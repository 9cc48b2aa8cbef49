namespace MailCloud.Data;

/// <summary>
/// How the stores retry an optimistic write that lost a race (412 on an ETag, 409 on an insert): read again and
/// re-apply, after a short randomized pause that grows with each attempt, so that many sessions contending for one
/// folder row spread out instead of colliding again. Only a real outage reaches the caller as a storage failure.
/// </summary>
internal static class WriteConflicts
{
    /// <summary>Attempts before a conflict is given up on (a folder that changes this often is effectively unavailable).</summary>
    public const int MaxAttempts = 60;

    public static bool CanRetry(int attempt) => attempt < MaxAttempts;

    /// <summary>0-5 ms after the first conflict, growing to at most about 200 ms.</summary>
    public static Task PauseAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(0, Math.Min(200, 5 * (1 << Math.Min(attempt, 6))))), cancellationToken);
}
