using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>
/// A 20 MiB message from a forward-only stream (like SMTP DATA) goes up in blocks from pooled buffers. Allocations
/// are counted for the whole process (an upload's continuations hop threads), so this runs alone, after the parallel
/// collections: with them running, other tests' allocations once pushed the count to 46 MiB.
/// </summary>
[Collection(UploadMemoryCollection.Name)]
public sealed class UploadMemoryTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_20_mib_message_from_a_forward_only_stream_goes_up_in_blocks_with_bounded_memory()
    {
        var account = azurite.NewAccount(new StorageClientOptions { BlockSize = 1024 * 1024, SingleUploadThreshold = 1024 * 1024 });
        await StorageProvisioner.EnsureCreatedAsync(account);
        var spool = new StorageMessageSpool(account);
        var content = new StorageSeamTests.ForwardOnly(new byte[20 * 1024 * 1024]);
        account.RequestCounter.Reset();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var item = await spool.StoreAsync(MessageIds.New(DateTimeOffset.UtcNow), StorageSeamTests.Envelope(), content, CancellationToken.None);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(20 * 1024 * 1024, item.Size);
        Assert.Equal(20, account.RequestCounter.Get("blob", "PutBlock"));
        Assert.Equal(1, account.RequestCounter.Get("blob", "PutBlockList"));
        // Blocks come from pooled buffers: far less than the message. The count is the whole process's, which is why
        // this collection runs alone.
        Assert.True(allocated < 10L * 1024 * 1024, $"allocated {allocated / 1024 / 1024} MiB for a 20 MiB upload");
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class UploadMemoryCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Upload memory (alone)";
}
