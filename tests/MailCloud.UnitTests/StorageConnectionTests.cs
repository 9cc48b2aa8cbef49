using Azure.Core;
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
        Assert.NotNull(c.SharedKey);
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
        var c = StorageConnection.Parse($"AccountKey={StorageConnection.DevelopmentAccountKey};BlobEndpoint=http://127.0.0.1:5000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:5001/devstoreaccount1;TableEndpoint=http://127.0.0.1:5002/devstoreaccount1/");
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
    public void Blob_string_to_sign_follows_the_shared_key_layout()
    {
        using var pipelineMessage = Azure.Core.Pipeline.HttpPipelineBuilder.Build(new StorageClientOptions()).CreateMessage();
        var request = pipelineMessage.Request;
        request.Method = RequestMethod.Put;
        request.Uri.Reset(new Uri("http://127.0.0.1:10000/devstoreaccount1/messages/a%20b.eml?comp=block&blockid=QUJD"));
        request.Headers.SetValue("x-ms-date", "Tue, 24 Nov 2026 08:00:00 GMT");
        request.Headers.SetValue("x-ms-version", "2025-05-05");
        request.Headers.SetValue("If-Match", "\"0x1\"");
        request.Content = RequestContent.Create(new byte[] { 1, 2, 3 });
        var s = SharedKeyPolicy.BuildBlobQueueStringToSign(request, "devstoreaccount1");
        Assert.Equal(
            "PUT\n\n\n3\n\n\n\n\n\"0x1\"\n\n\n\n" +
            "x-ms-date:Tue, 24 Nov 2026 08:00:00 GMT\nx-ms-version:2025-05-05\n" +
            "/devstoreaccount1/devstoreaccount1/messages/a%20b.eml\nblockid:QUJD\ncomp:block", s);
    }

    [Fact]
    public void Table_string_to_sign_keeps_only_comp()
    {
        using var pipelineMessage = Azure.Core.Pipeline.HttpPipelineBuilder.Build(new StorageClientOptions()).CreateMessage();
        var request = pipelineMessage.Request;
        request.Method = RequestMethod.Get;
        request.Uri.Reset(new Uri("http://127.0.0.1:10002/devstoreaccount1/directory()?$filter=x&comp=list"));
        request.Headers.SetValue("x-ms-date", "Tue, 24 Nov 2026 08:00:00 GMT");
        var s = SharedKeyPolicy.BuildTableStringToSign(request, "devstoreaccount1");
        Assert.Equal("GET\n\n\nTue, 24 Nov 2026 08:00:00 GMT\n/devstoreaccount1/devstoreaccount1/directory()?comp=list", s);
    }

    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("a/b#c?d\\e%f", "a%2Fb%23c%3Fd%5Ce%25f")]
    public void Table_keys_escape_forbidden_characters(string raw, string escaped) => Assert.Equal(escaped, TableKeys.Escape(raw));
}
