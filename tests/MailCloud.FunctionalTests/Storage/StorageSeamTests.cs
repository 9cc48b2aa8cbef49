using Azure;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>
/// What the data layer relies on from the SDK clients, checked against real Azurite: conflict statuses that the
/// retry loops catch, the requests an upload and a paged query cost (the request counter), queue messages that never
/// expire, and uploads from a forward-only stream (their memory: <see cref="UploadMemoryTests"/>).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class StorageSeamTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_stale_etag_fails_the_whole_transaction_with_412()
    {
        var account = azurite.NewAccount();
        var table = account.Tables.GetTableClient(AzuriteFixture.UniqueName("tx"));
        await table.CreateIfNotExistsAsync();
        var etag = await table.AddRowAsync(new TableEntity("p", "folder") { ["N"] = 1 });
        await table.UpdateRowAsync(new TableEntity("p", "folder") { ["N"] = 2 }, etag); // someone else got there first

        var e = await Assert.ThrowsAsync<TableTransactionFailedException>(() => table.SubmitTransactionAsync(
        [
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", "msg1")),
            new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity("p", "folder") { ["N"] = 3 }, etag),
        ]));
        Assert.Equal(412, e.Status); // what MailboxStore and MailboxWriter catch to re-read and retry
        Assert.Null(await table.GetRowAsync("p", "msg1")); // all or nothing
        Assert.Equal(2, (await table.GetRowAsync("p", "folder"))!.ReadInt32("N"));
    }

    [Fact]
    public async Task A_query_over_1100_rows_costs_two_requests_and_reads_every_row()
    {
        var account = azurite.NewAccount();
        var table = account.Tables.GetTableClient(AzuriteFixture.UniqueName("page"));
        await table.CreateIfNotExistsAsync();
        for (int batch = 0; batch < 11; batch++)
            await table.SubmitTransactionAsync(Enumerable.Range(0, 100).Select(i => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", $"r{batch * 100 + i:D5}") { ["N"] = i })));
        account.RequestCounter.Reset();
        int rows = 0;
        await foreach (var _ in table.QueryRowsAsync(TableFilter.PartitionKey("p"), ["RowKey"]))
            rows++;
        Assert.Equal(1100, rows);
        Assert.Equal(2, account.RequestCounter.Get("table", "QueryEntities")); // the service pages at 1,000
        Assert.Equal(2, account.RequestCounter.Total);
    }

    [Fact]
    public async Task A_stored_message_costs_one_put_blob_and_one_put_message_and_never_expires_in_the_queue()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var spool = new StorageMessageSpool(account);
        account.RequestCounter.Reset();
        var item = await spool.StoreAsync(MessageIds.New(DateTimeOffset.UtcNow), Envelope(), new ForwardOnly(new byte[4096]), CancellationToken.None);
        Assert.Equal(4096, item.Size);
        Assert.True(account.RequestCounter.Get("blob", "PutBlob") == 1, string.Join(", ", account.RequestCounter.Snapshot().Select(k => $"{k.Key} {k.Value}")));
        Assert.Equal(1, account.RequestCounter.Get("queue", "PutMessage"));
        Assert.Equal(2, account.RequestCounter.Total);

        var queued = (await account.Queues.GetQueueClient(StorageNames.InboundQueue).PeekMessagesAsync(32)).Value.Single(m => m.Body.ToString().Contains(item.MessageId, StringComparison.Ordinal));
        Assert.True(queued.ExpiresOn > DateTimeOffset.UtcNow.AddYears(100), $"expires {queued.ExpiresOn}");

        // The same id again is refused: a stored message is never overwritten.
        await Assert.ThrowsAsync<RequestFailedException>(() => spool.StoreAsync(item.MessageId, Envelope() with { ReceivedAt = item.Envelope!.ReceivedAt }, new MemoryStream(new byte[10]), CancellationToken.None));
    }

    /// <summary>
    /// A small message travels in its work item too (the inbound stage then skips its Get Blob); one over the limit
    /// does not, and neither does one whose envelope needs a blob of its own. The queue message stays under 64 KiB.
    /// </summary>
    [Fact]
    public async Task A_small_message_travels_in_its_work_item_and_a_large_one_only_in_its_blob()
    {
        var account = azurite.NewAccount();
        await StorageProvisioner.EnsureCreatedAsync(account);
        var spool = new StorageMessageSpool(account);
        var queue = account.Queues.GetQueueClient(StorageNames.InboundQueue);
        async Task<(InboundWorkItem Item, int QueueBytes)> StoreAndPeekAsync(byte[] bytes, Envelope envelope)
        {
            var stored = await spool.StoreAsync(MessageIds.New(DateTimeOffset.UtcNow), envelope, new ForwardOnly(bytes), CancellationToken.None);
            var queued = (await queue.PeekMessagesAsync(32)).Value.Single(m => m.Body.ToString().Contains(stored.MessageId, StringComparison.Ordinal));
            var blob = (await account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(stored.MessageBlob).DownloadContentAsync()).Value.Content.ToArray();
            Assert.Equal(bytes, blob);
            return ((await spool.ReadWorkItemAsync(queued.Body)).Item, Convert.ToBase64String(queued.Body.ToArray()).Length);
        }

        var small = System.Text.Encoding.ASCII.GetBytes("Subject: small\r\n\r\n" + new string('x', 4000) + "\r\n");
        var (item, _) = await StoreAndPeekAsync(small, Envelope());
        Assert.Equal(small, item.Content);

        var limit = new byte[StorageMessageSpool.MaxInlineContentBytes];
        Random.Shared.NextBytes(limit); // incompressible, and base64 twice over: the largest queue message the spool sends
        var (atLimit, queueBytes) = await StoreAndPeekAsync(limit, Envelope());
        Assert.Equal(limit, atLimit.Content);
        Assert.True(queueBytes <= 64 * 1024, $"{queueBytes} bytes on the queue");

        var (large, _) = await StoreAndPeekAsync(new byte[StorageMessageSpool.MaxInlineContentBytes + 1], Envelope());
        Assert.Null(large.Content);

        // 2,000 recipients: the envelope goes to a blob of its own, the message stays in its blob.
        var many = Envelope() with { Recipients = [.. Enumerable.Range(0, 2000).Select(i => new EnvelopeRecipient($"user{i}@example.test"))] };
        var (crowded, _) = await StoreAndPeekAsync(small, many);
        Assert.NotNull(crowded.EnvelopeBlob);
        Assert.Null(crowded.Content);
    }

    internal static Envelope Envelope() => new()
    {
        Sender = "alice@example.test",
        Recipients = [new EnvelopeRecipient("bob@example.test")],
        ClientAddress = "127.0.0.1",
        Helo = "client.test",
        Listener = "mx",
        ReceivedAt = DateTimeOffset.UtcNow,
    };

    /// <summary>A stream that cannot seek or tell its length, like SMTP DATA.</summary>
    internal sealed class ForwardOnly(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data, writable: false);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
