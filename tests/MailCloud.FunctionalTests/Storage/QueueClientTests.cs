using Azure;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

[Collection(AzuriteCollection.Name)]
public sealed class QueueClientTests(AzuriteFixture azurite)
{
    private async Task<QueueClient> NewQueueAsync(QueueMessageEncoding encoding = QueueMessageEncoding.Base64)
    {
        var queue = azurite.NewAccount().Queues.GetQueueClient(AzuriteFixture.UniqueName("q"), encoding);
        Assert.True(await queue.CreateIfNotExistsAsync());
        return queue;
    }

    [Fact]
    public async Task Send_receive_delete_round_trip_with_dequeue_count()
    {
        var queue = await NewQueueAsync();
        Assert.False(await queue.CreateIfNotExistsAsync());
        var receipt = await queue.SendMessageAsync("{\"id\":\"m1\",\"note\":\"<xml & friends>\"}");
        Assert.False(string.IsNullOrEmpty(receipt.MessageId));

        var received = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1)));
        Assert.Equal("{\"id\":\"m1\",\"note\":\"<xml & friends>\"}", received.Body.ToString());
        Assert.Equal(1, received.DequeueCount);
        Assert.Empty(await queue.ReceiveMessagesAsync(1));

        // After the visibility timeout it comes back with a higher dequeue count.
        await Task.Delay(1500);
        var again = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(2, again.DequeueCount);
        await queue.DeleteMessageAsync(again.MessageId, again.PopReceipt!);
        Assert.Empty(await queue.PeekMessagesAsync(32));

        // A stale pop receipt no longer works.
        var stale = await Assert.ThrowsAsync<RequestFailedException>(() => queue.DeleteMessageAsync(received.MessageId, received.PopReceipt!));
        Assert.Equal(404, stale.Status);
    }

    [Fact]
    public async Task Visibility_delay_hides_message_until_due()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("later", visibilityDelay: TimeSpan.FromSeconds(2), timeToLive: TimeSpan.FromMinutes(5));
        Assert.Empty(await queue.ReceiveMessagesAsync(1));
        Assert.Equal(1, await queue.GetApproximateMessageCountAsync());
        await Task.Delay(2500);
        var m = Assert.Single(await queue.ReceiveMessagesAsync(1));
        Assert.Equal("later", m.Body.ToString());
        Assert.True(m.ExpirationTime - m.InsertionTime <= TimeSpan.FromMinutes(5.1));
    }

    [Fact]
    public async Task Receive_many_peek_and_update_visibility_and_content()
    {
        var queue = await NewQueueAsync();
        for (int i = 0; i < 40; i++)
            await queue.SendMessageAsync($"m{i}");

        var peeked = await queue.PeekMessagesAsync(5);
        Assert.Equal(5, peeked.Count);
        Assert.All(peeked, p => Assert.Null(p.PopReceipt));

        var batch = await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1));
        Assert.Equal(32, batch.Count);

        var first = batch[0];
        var update = await queue.UpdateMessageAsync(first.MessageId, first.PopReceipt!, TimeSpan.Zero, BinaryData.FromString("changed"));
        Assert.False(string.IsNullOrEmpty(update.PopReceipt));
        var back = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1))).Single(m => m.MessageId == first.MessageId);
        Assert.Equal("changed", back.Body.ToString());
        Assert.Equal(2, back.DequeueCount);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveMessagesAsync(33));
    }

    [Fact]
    public async Task Oversized_message_is_refused_before_sending()
    {
        var queue = await NewQueueAsync();
        var big = new string('x', 60 * 1024); // 80 KiB once base64 encoded
        await Assert.ThrowsAsync<ArgumentException>(() => queue.SendMessageAsync(big));
    }

    [Fact]
    public async Task Plain_encoding_is_readable_by_other_tools_and_missing_queue_is_404()
    {
        var queue = await NewQueueAsync(QueueMessageEncoding.None);
        await queue.SendMessageAsync("plain text");
        var m = Assert.Single(await queue.PeekMessagesAsync());
        Assert.Equal("plain text", m.MessageText);

        var missing = azurite.NewAccount().Queues.GetQueueClient(AzuriteFixture.UniqueName("missing"));
        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => missing.SendMessageAsync("x"));
        Assert.Equal(404, ex.Status);
        Assert.Equal("QueueNotFound", ex.ErrorCode);
        Assert.False(await missing.ExistsAsync());
        Assert.True(await queue.DeleteIfExistsAsync());
    }
}
