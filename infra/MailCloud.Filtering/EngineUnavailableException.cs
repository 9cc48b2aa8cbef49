namespace MailCloud.Filtering;

/// <summary>
/// A content engine could not give an answer (refused, timed out, answered an error): the message was not scanned.
/// The pipeline retries the work item later rather than deliver unscanned mail (unless configured to fail open).
/// </summary>
public sealed class EngineUnavailableException(string engine, string message, Exception? inner = null) : Exception($"{engine}: {message}", inner)
{
    public string Engine { get; } = engine;
}
