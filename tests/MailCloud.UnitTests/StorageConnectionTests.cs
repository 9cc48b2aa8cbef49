using Azure.Core;
using Azure.Data.Tables;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.UnitTests;

public sealed class StorageConnectionTests
{
    [Fact]
    public void Development_storage_uses_azurite_defaults()
    {
        var c = StorageConnection.Parse("UseDevelopmentStorage=true");
        Assert.Equal("devstoreaccount1", c.AccountName);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), c.BlobEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), c.QueueEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:10002/devstoreaccount1"), c.TableEndpoint);
        Assert.NotNull(c.ConnectionString);
    }

    [Fact]
    public void Account_connection_string_builds_public_endpoints()
    {
        var c = StorageConnection.Parse($"DefaultEndpointsProtocol=https;AccountName=mailcloudprod;AccountKey={StorageConnection.DevelopmentAccountKey};EndpointSuffix=core.windows.net");
        Assert.Equal(new Uri("https://mailcloudprod.blob.core.windows.net"), c.BlobEndpoint);
        Assert.Equal(new Uri("https://mailcloudprod.table.core.windows.net"), c.TableEndpoint);
        Assert.DoesNotContain(StorageConnection.DevelopmentAccountKey, c.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Explicit_endpoints_take_the_account_from_the_path()
    {
        var c = StorageConnection.Parse($"AccountName=devstoreaccount1;AccountKey={StorageConnection.DevelopmentAccountKey};BlobEndpoint=http://127.0.0.1:5000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:5001/devstoreaccount1;TableEndpoint=http://127.0.0.1:5002/devstoreaccount1/");
        Assert.Equal("devstoreaccount1", c.AccountName);
        Assert.Equal(5002, c.TableEndpoint.Port);
    }

    [Theory]
    [InlineData("nonsense")]
    [InlineData("AccountKey=abc")]
    [InlineData("AccountName=x;AccountKey=not base64!")]
    public void Bad_connection_strings_say_what_is_wrong(string text)
    {
        var e = Assert.Throws<FormatException>(() => StorageConnection.Parse(text));
        Assert.DoesNotContain("not base64!", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_account_name_and_a_credential_give_clients_on_the_public_endpoints()
    {
        var account = new StorageAccount(StorageConnection.FromAccount("mailcloudprod", new Azure.Identity.ManagedIdentityCredential(Azure.Identity.ManagedIdentityId.FromUserAssignedClientId("00000000-0000-0000-0000-000000000001"))));
        Assert.Equal(new Uri("https://mailcloudprod.blob.core.windows.net/"), account.Blobs.Uri);
        Assert.Equal(new Uri("https://mailcloudprod.queue.core.windows.net/"), account.Queues.Uri);
        Assert.Equal("mailcloudprod", account.Tables.AccountName);
        Assert.Null(account.Connection.ConnectionString);
    }

    [Theory]
    [InlineData("blob", "PUT", "http://127.0.0.1:10000/devstoreaccount1/messages/2026/a.eml", "PutBlob")]
    [InlineData("blob", "PUT", "http://127.0.0.1:10000/devstoreaccount1/messages/a.eml?comp=block&blockid=QUJD", "PutBlock")]
    [InlineData("blob", "PUT", "https://acct.blob.core.windows.net/messages/a.eml?comp=blocklist", "PutBlockList")]
    [InlineData("blob", "GET", "https://acct.blob.core.windows.net/messages/a.eml", "GetBlob")]
    [InlineData("blob", "HEAD", "https://acct.blob.core.windows.net/messages/a.eml", "GetBlobProperties")]
    [InlineData("blob", "DELETE", "https://acct.blob.core.windows.net/messages/a.eml", "DeleteBlob")]
    [InlineData("blob", "PUT", "https://acct.blob.core.windows.net/messages?restype=container", "CreateContainer")]
    [InlineData("blob", "GET", "https://acct.blob.core.windows.net/messages?restype=container&comp=list", "ListBlobs")]
    [InlineData("queue", "POST", "http://127.0.0.1:10001/devstoreaccount1/inbound/messages", "PutMessage")]
    [InlineData("queue", "GET", "https://acct.queue.core.windows.net/inbound/messages?numofmessages=16", "GetMessages")]
    [InlineData("queue", "GET", "https://acct.queue.core.windows.net/inbound/messages?peekonly=true", "PeekMessages")]
    [InlineData("queue", "DELETE", "https://acct.queue.core.windows.net/inbound/messages/abc?popreceipt=x", "DeleteMessage")]
    [InlineData("queue", "PUT", "https://acct.queue.core.windows.net/inbound/messages/abc?popreceipt=x&visibilitytimeout=2", "UpdateMessage")]
    [InlineData("queue", "PUT", "https://acct.queue.core.windows.net/inbound", "CreateQueue")]
    [InlineData("queue", "GET", "https://acct.queue.core.windows.net/inbound?comp=metadata", "GetQueueMetadata")]
    [InlineData("table", "GET", "http://127.0.0.1:10002/devstoreaccount1/mailboxes(PartitionKey='a',RowKey='b')", "GetEntity")]
    [InlineData("table", "GET", "https://acct.table.core.windows.net/mailboxes()?$filter=PartitionKey%20eq%20'a'", "QueryEntities")]
    [InlineData("table", "POST", "https://acct.table.core.windows.net/$batch", "EntityGroupTransaction")]
    [InlineData("table", "POST", "https://acct.table.core.windows.net/mailboxes", "InsertEntity")]
    [InlineData("table", "PATCH", "https://acct.table.core.windows.net/mailboxes(PartitionKey='a',RowKey='b')", "InsertOrMergeEntity")]
    [InlineData("table", "PUT", "https://acct.table.core.windows.net/mailboxes(PartitionKey='a',RowKey='b')", "InsertOrReplaceEntity")]
    [InlineData("table", "DELETE", "https://acct.table.core.windows.net/mailboxes(PartitionKey='a',RowKey='b')", "DeleteEntity")]
    [InlineData("table", "POST", "https://acct.table.core.windows.net/Tables", "CreateTable")]
    public void Requests_are_counted_under_their_rest_operation(string service, string method, string uri, string operation)
    {
        using var message = Azure.Core.Pipeline.HttpPipelineBuilder.Build(new StorageClientOptions()).CreateMessage();
        message.Request.Method = RequestMethod.Parse(method);
        message.Request.Uri.Reset(new Uri(uri));
        Assert.Equal(operation, RequestCountingPolicy.Operation(service, message.Request));
    }

    [Fact]
    public void A_conditional_table_write_is_an_update_and_an_unconditional_one_an_upsert()
    {
        using var message = Azure.Core.Pipeline.HttpPipelineBuilder.Build(new StorageClientOptions()).CreateMessage();
        message.Request.Method = RequestMethod.Put;
        message.Request.Uri.Reset(new Uri("https://acct.table.core.windows.net/mailboxes(PartitionKey='a',RowKey='b')"));
        message.Request.Headers.SetValue("If-Match", "W/\"datetime'2026-12-01'\"");
        Assert.Equal("UpdateEntity", RequestCountingPolicy.Operation("table", message.Request));
        message.Request.Method = RequestMethod.Parse("MERGE");
        Assert.Equal("MergeEntity", RequestCountingPolicy.Operation("table", message.Request));
    }

    [Fact]
    public void Column_readers_accept_either_integer_width_and_stored_dates()
    {
        var e = new Azure.Data.Tables.TableEntity("p", "r") { ["I"] = 5, ["L"] = 7L, ["D"] = new DateTime(2026, 12, 1, 8, 0, 0, DateTimeKind.Utc), ["B"] = new byte[] { 1 } };
        Assert.Equal(5L, e.ReadInt64("I"));
        Assert.Equal(7, e.ReadInt32("L"));
        Assert.Null(e.ReadInt64("missing"));
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero), e.ReadDate("D"));
        Assert.Equal(new byte[] { 1 }, e.ReadBinary("B"));
        Assert.Equal(["B", "D", "I", "L"], e.Columns().Select(c => c.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Backup_rows_keep_their_column_types()
    {
        var e = new Azure.Data.Tables.TableEntity("p", "r") { ["S"] = "x", ["I"] = 5, ["L"] = 7L, ["D"] = DateTimeOffset.Parse("2026-12-01T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture), ["G"] = Guid.Empty, ["B"] = new byte[] { 0, 255 }, ["T"] = true };
        using var doc = System.Text.Json.JsonDocument.Parse(EntityJson.Serialize(e));
        var back = EntityJson.Deserialize(doc.RootElement);
        Assert.Equal("p", back.PartitionKey);
        Assert.IsType<int>(back["I"]);
        Assert.IsType<long>(back["L"]);
        Assert.Equal(e.GetDateTimeOffset("D"), back.GetDateTimeOffset("D"));
        Assert.Equal(Guid.Empty, back.GetGuid("G"));
        Assert.Equal(new byte[] { 0, 255 }, back.GetBinary("B"));
        Assert.True(back.GetBoolean("T"));
    }

    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("a/b#c?d\\e%f", "a%2Fb%23c%3Fd%5Ce%25f")]
    public void Table_keys_escape_forbidden_characters(string raw, string escaped) => Assert.Equal(escaped, TableKeys.Escape(raw));
}
