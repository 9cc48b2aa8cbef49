using Azure;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

[Collection(AzuriteCollection.Name)]
public sealed class TableClientTests(AzuriteFixture azurite)
{
    private async Task<TableClient> NewTableAsync(StorageAccount? account = null)
    {
        var table = (account ?? azurite.NewAccount()).Tables.GetTableClient(AzuriteFixture.UniqueName("t"));
        Assert.True(await table.CreateIfNotExistsAsync());
        return table;
    }

    [Fact]
    public async Task Insert_read_typed_properties_round_trip()
    {
        var table = await NewTableAsync();
        Assert.False(await table.CreateIfNotExistsAsync());
        var when = new DateTimeOffset(2026, 11, 24, 10, 30, 15, TimeSpan.Zero);
        var guid = Guid.NewGuid();
        var entity = new TableEntity("example.test", "u:o'brien+1 x@y")
        {
            ["Name"] = "Ödön ✉",
            ["Size"] = 5_000_000_000L,
            ["Count"] = 7,
            ["Ratio"] = 2.0,
            ["Enabled"] = true,
            ["Created"] = when,
            ["Id"] = guid,
            ["Blob"] = new byte[] { 0, 1, 2, 255 },
        };
        var etag = await table.AddEntityAsync(entity);
        Assert.NotEqual(default, etag);

        var read = await table.GetEntityAsync("example.test", "u:o'brien+1 x@y");
        Assert.Equal("Ödön ✉", read.GetString("Name"));
        Assert.Equal(5_000_000_000L, read.GetInt64("Size"));
        Assert.Equal(7, read.GetInt32("Count"));
        Assert.Equal(2.0, read["Ratio"]);
        Assert.Equal(true, read.GetBoolean("Enabled"));
        Assert.Equal(when, read.GetDateTimeOffset("Created"));
        Assert.Equal(guid, read.GetGuid("Id"));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, read.GetBinary("Blob"));
        Assert.Equal(etag, read.ETag);
        Assert.NotNull(read.Timestamp);

        var duplicate = await Assert.ThrowsAsync<RequestFailedException>(() => table.AddEntityAsync(new TableEntity("example.test", "u:o'brien+1 x@y")));
        Assert.Equal(409, duplicate.Status);
        Assert.Equal("EntityAlreadyExists", duplicate.ErrorCode);
    }

    [Fact]
    public async Task Upsert_merge_and_replace_and_etag_concurrency()
    {
        var table = await NewTableAsync();
        await table.UpsertEntityAsync(new TableEntity("p", "r") { ["A"] = "a", ["B"] = "b" });
        await table.UpsertEntityAsync(new TableEntity("p", "r") { ["B"] = "b2" }, TableUpdateMode.Merge);
        var merged = await table.GetEntityAsync("p", "r");
        Assert.Equal("a", merged.GetString("A"));
        Assert.Equal("b2", merged.GetString("B"));

        await table.UpsertEntityAsync(new TableEntity("p", "r") { ["C"] = "c" }, TableUpdateMode.Replace);
        var replaced = await table.GetEntityAsync("p", "r");
        Assert.False(replaced.ContainsKey("A"));
        Assert.Equal("c", replaced.GetString("C"));

        // Two writers read the same version; the second update must fail with a distinct 412.
        var staleEtag = replaced.ETag;
        var fresh = await table.UpdateEntityAsync(new TableEntity("p", "r") { ["C"] = "winner" }, staleEtag);
        var lost = await Assert.ThrowsAsync<PreconditionFailedException>(() =>
            table.UpdateEntityAsync(new TableEntity("p", "r") { ["C"] = "loser" }, staleEtag, TableUpdateMode.Replace));
        Assert.Equal(412, lost.Status);
        Assert.Equal("winner", (await table.GetEntityAsync("p", "r")).GetString("C"));

        await Assert.ThrowsAsync<PreconditionFailedException>(() => table.DeleteEntityAsync("p", "r", staleEtag));
        Assert.True(await table.DeleteEntityAsync("p", "r", fresh));
        Assert.False(await table.DeleteEntityAsync("p", "r"));
        Assert.Null(await table.GetEntityIfExistsAsync("p", "r"));
        var notFound = await Assert.ThrowsAsync<RequestFailedException>(() => table.GetEntityAsync("p", "r"));
        Assert.Equal(404, notFound.Status);

        var missing = await Assert.ThrowsAsync<RequestFailedException>(() => table.UpdateEntityAsync(new TableEntity("p", "gone"), ETag.All));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task Query_over_more_than_1000_entities_follows_continuation()
    {
        var table = await NewTableAsync();
        const int count = 1100;
        // Loaded with batches of 100 (one partition per batch): 11 requests instead of 1,100.
        for (int p = 0; p < count / 100; p++)
        {
            var actions = Enumerable.Range(0, 100).Select(i =>
                new TableTransactionAction(TableTransactionActionType.Add, new TableEntity($"p{p:D2}", $"r{i:D3}") { ["N"] = p * 100 + i }));
            await table.SubmitTransactionAsync(actions);
        }

        var first = await table.QueryPageAsync();
        Assert.Equal(1000, first.Items.Count);
        Assert.NotNull(first.ContinuationToken);

        var all = new List<TableEntity>();
        await foreach (var e in table.QueryAsync())
            all.Add(e);
        Assert.Equal(count, all.Count);
        Assert.Equal(count, all.Select(e => e.GetInt32("N")).Distinct().Count());

        // Filter, select and top together, paged.
        var filtered = new List<TableEntity>();
        await foreach (var e in table.QueryAsync(TableFilter.And(TableFilter.PartitionKey("p03"), "N ge 350"), ["N"], maxPerPage: 20))
            filtered.Add(e);
        Assert.Equal(50, filtered.Count);
        Assert.All(filtered, e => Assert.Equal(["N"], e.Properties.Keys));

        var prefixed = new List<TableEntity>();
        await foreach (var e in table.QueryAsync(TableFilter.And(TableFilter.PartitionKey("p05"), TableFilter.RowKeyPrefix("r09"))))
            prefixed.Add(e);
        Assert.Equal(10, prefixed.Count);
    }

    [Fact]
    public async Task Transaction_applies_all_or_nothing()
    {
        var table = await NewTableAsync();
        var state = new TableEntity("mbx", "state") { ["NextUid"] = 1L };
        await table.AddEntityAsync(state);

        var result = await table.SubmitTransactionAsync([
            new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity("mbx", "state") { ["NextUid"] = 2L }, state.ETag),
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("mbx", "m1") { ["Uid"] = 1L }),
            new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity("mbx", "m9") { ["Uid"] = 9L }),
        ]);
        Assert.Equal(3, result.Responses.Count);
        Assert.All(result.Responses, r => Assert.Equal(204, r.Status));
        Assert.NotEqual(default, result.Responses[0].ETag);

        // Second batch uses the stale state ETag: nothing of it may land.
        var failure = await Assert.ThrowsAsync<TableTransactionFailedException>(() => table.SubmitTransactionAsync([
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("mbx", "m2") { ["Uid"] = 2L }),
            new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity("mbx", "state") { ["NextUid"] = 3L }, state.ETag),
        ]));
        Assert.Equal(412, failure.Status);
        Assert.Null(await table.GetEntityIfExistsAsync("mbx", "m2"));
        Assert.Equal(2L, (await table.GetEntityAsync("mbx", "state")).GetInt64("NextUid"));

        // A duplicate insert fails the whole batch with 409.
        var dup = await Assert.ThrowsAsync<TableTransactionFailedException>(() => table.SubmitTransactionAsync([
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("mbx", "m3")),
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("mbx", "m1")),
        ]));
        Assert.Equal(409, dup.Status);
        Assert.Null(await table.GetEntityIfExistsAsync("mbx", "m3"));

        await Assert.ThrowsAsync<ArgumentException>(() => table.SubmitTransactionAsync([
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("a", "1")),
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("b", "1")),
        ]));

        await table.SubmitTransactionAsync([
            new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity("mbx", "m1")),
            new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity("mbx", "m9")),
        ]);
        Assert.Null(await table.GetEntityIfExistsAsync("mbx", "m1"));
    }

    [Fact]
    public async Task Invalid_table_name_is_refused_locally()
    {
        Assert.Throws<ArgumentException>(() => azurite.NewAccount().Tables.GetTableClient("bad-name"));
        await Task.CompletedTask;
    }
}
