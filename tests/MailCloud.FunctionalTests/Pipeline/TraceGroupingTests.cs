using Azure.Core;
using Azure.Core.Pipeline;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FunctionalTests.Storage;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Pipeline;

/// <summary>
/// The day's address rows of messages traced at the same time share one partition, so they are written as a group.
/// Real Azurite; the first address transaction is held at the HTTP transport until every message's events are
/// written, so which rows meet in a group is fixed rather than left to timing.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class TraceGroupingTests(AzuriteFixture azurite)
{
    private sealed class HoldFirstAddressRows(int eventTransactions) : InterceptingTransport
    {
        private readonly TaskCompletionSource _eventsDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _held, _events;

        public override async ValueTask ProcessAsync(HttpMessage message)
        {
            bool batch = IsTransaction(message);
            bool addresses = batch && Body(message).Contains("\"PartitionKey\":\"a|", StringComparison.Ordinal);
            if (addresses && Interlocked.Increment(ref _held) == 1)
                await _eventsDone.Task;
            await SendAsync(message);
            if (batch && !addresses && Interlocked.Increment(ref _events) == eventTransactions)
                _eventsDone.TrySetResult();
        }

        private static string Body(HttpMessage message)
        {
            using var buffer = new MemoryStream();
            message.Request.Content?.WriteTo(buffer, CancellationToken.None);
            return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        }
    }

    [Fact]
    public async Task Messages_traced_at_once_share_their_address_rows_transactions_and_each_is_found_by_address()
    {
        var account = azurite.NewAccount(new StorageClientOptions { Transport = new HoldFirstAddressRows(20) });
        await StorageProvisioner.EnsureCreatedAsync(account);
        var store = new MessageTraceStore(account);
        var now = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 20).Select(_ => MessageIds.New(now)).ToList();
        var sender = $"{AzuriteFixture.UniqueName("sender")}@example.test";
        account.RequestCounter.Reset();
        await Task.WhenAll(ids.Select((id, i) => store.RecordAsync(id, [(now, TraceStage.Accepted, $"message {i}")], [sender, $"rcpt{i}-{sender}"])));

        // 20 transactions of events (a partition per message); the first message's address rows alone, the other
        // 19 messages' 38 rows together: 22, where a transaction per message would be 40.
        Assert.Equal(22, account.RequestCounter.Snapshot().GetValueOrDefault("table.EntityGroupTransaction"));
        Assert.Equal(ids.Order(), (await store.ForAddressAsync(sender, limit: 50)).Select(v => v.MessageId).Order());
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
            Assert.Equal([id], (await store.ForAddressAsync($"rcpt{i}-{sender}")).Select(v => v.MessageId));
    }
}
