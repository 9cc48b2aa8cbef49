namespace MailCloud.FuzzTargets;

/// <summary>
/// One parser under fuzzing. <see cref="Run"/> feeds it arbitrary bytes the way the server would and throws only
/// when something is wrong: an exception the parser should never let out, a broken invariant, or (the caller's
/// timeout) a hang. Expected refusals of bad input are part of a normal run.
/// </summary>
public sealed record FuzzTarget(string Name, string Parser, Action<byte[]> Run, IReadOnlyList<byte[]> Seeds);

/// <summary>An invariant of a parser did not hold for some input.</summary>
public sealed class FuzzInvariantException(string message) : Exception(message);
