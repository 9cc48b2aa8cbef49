namespace MailCloud.FunctionalTests.Reliability;

/// <summary>
/// The harness and the load run each start a whole MailCloud and keep both cores busy: they run alone, after the
/// parallel collections, so neither they nor the timing of other tests suffer from the other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilityCollection
{
    public const string Name = "Reliability (alone)";
}
