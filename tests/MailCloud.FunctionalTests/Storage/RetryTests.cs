using System.Net;
using Azure;
using MailCloud.Data;
using MailCloud.LocalDev;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>
/// Retry behaviour against a local HTTP listener that fails on purpose. Azurite cannot be told to throttle or fail,
/// so this listener stands in for the service's 408/429/500/503 answers; everything else is the real client stack.
/// </summary>
public sealed class RetryTests
{
    private static StorageConnection ConnectionTo(int port) => StorageConnection.Parse(
        $"AccountName=devstoreaccount1;AccountKey={StorageConnection.DevelopmentAccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1");

    private static StorageClientOptions FastRetries()
    {
        var o = new StorageClientOptions();
        o.Retry.Delay = TimeSpan.FromMilliseconds(10);
        o.Retry.MaxDelay = TimeSpan.FromMilliseconds(50);
        o.Retry.MaxRetries = 3;
        return o;
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    [InlineData(429)]
    [InlineData(408)]
    public async Task Transient_failures_are_retried_then_succeed(int failureStatus)
    {
        int port = AzuriteProcess.FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        int requests = 0;
        var server = Task.Run(async () =>
        {
            for (int i = 0; i < 3; i++)
            {
                var ctx = await listener.GetContextAsync();
                requests++;
                Assert.StartsWith("SharedKey devstoreaccount1:", ctx.Request.Headers["Authorization"]);
                if (i < 2)
                {
                    ctx.Response.StatusCode = failureStatus;
                    ctx.Response.Headers["x-ms-error-code"] = "ServerBusy";
                }
                else
                {
                    ctx.Response.StatusCode = 200;
                    var body = "hello"u8.ToArray();
                    ctx.Response.ContentLength64 = body.Length;
                    await ctx.Response.OutputStream.WriteAsync(body);
                }
                ctx.Response.Close();
            }
        });

        var options = FastRetries();
        var blob = new StorageAccount(ConnectionTo(port), options).Blobs.GetBlobContainerClient("c").GetBlobClient("b");
        var content = (await blob.DownloadContentAsync()).Value.Content;
        await server;
        Assert.Equal("hello", content.ToString());
        Assert.Equal(3, requests);
        Assert.Equal(3, options.RequestCounter.Get("blob", "GetBlob"));
    }

    [Fact]
    public async Task Persistent_failure_surfaces_status_and_error_code_after_retries()
    {
        int port = AzuriteProcess.FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        using var cts = new CancellationTokenSource();
        var server = Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                ctx.Response.StatusCode = 500;
                ctx.Response.Headers["x-ms-error-code"] = "InternalError";
                ctx.Response.Close();
            }
        });
        var options = FastRetries();
        var queue = new StorageAccount(ConnectionTo(port), options).Queues.GetQueueClient("q");
        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => queue.SendMessageAsync("x"));
        Assert.Equal(500, ex.Status);
        Assert.Equal("InternalError", ex.ErrorCode);
        Assert.Equal(4, options.RequestCounter.Get("queue", "PutMessage")); // 1 try + 3 retries
        await cts.CancelAsync();
        listener.Stop();
        await server;
    }

    [Fact]
    public async Task Unreachable_storage_is_reported_as_unreachable()
    {
        int port = AzuriteProcess.FreePort(); // nothing listens there
        var options = FastRetries();
        var table = new StorageAccount(ConnectionTo(port), options).Tables.GetTableClient("directory");
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => table.GetRowAsync("a", "b"));
        Assert.True(StorageErrors.IsUnreachable(ex), ex.ToString());
    }
}
