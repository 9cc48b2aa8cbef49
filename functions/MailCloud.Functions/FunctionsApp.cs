using System.Text.Json;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Pipeline;
using MailCloud.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailCloud.Functions;

/// <summary>
/// The custom-handler web app. The Functions host (or our local driver) POSTs
/// <c>{"Data":{"item":...},"Metadata":{...}}</c> to <c>/{function}</c>; we answer
/// <c>{"Outputs":{},"Logs":[...],"ReturnValue":null}</c> with 200, or 500 so the host retries the work item.
/// Outputs stay empty on purpose: the stages write their queues and tables themselves, to keep per-recipient
/// idempotency in our hands rather than in output bindings.
/// </summary>
public static class FunctionsApp
{
    public static WebApplication Build(StorageAccount account, string hostName, int port, string bindAddress = "127.0.0.1", Action<ILoggingBuilder>? logging = null,
        TimeSpan? orphanAge = null, DeliveryOptions? delivery = null, MailCloud.Dns.DnsResolver? dns = null, ISecretStore? secrets = null, IReadOnlyList<string>? dnsbl = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logging is null)
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        else
            logging(builder.Logging);
        builder.WebHost.UseUrls($"http://{bindAddress}:{port}");

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MailCloud.Functions");
        // DKIM private keys come from Key Vault when the deployment has one (the directory row only names them).
        var directory = new CachingMailDirectory(StorageProvisioner.Directory(account, secrets), TimeSpan.FromSeconds(30));
        var indexer = new MailboxIndexer(account.Tables.GetTableClient(StorageNames.MailboxTable), account.Tables.GetTableClient(StorageNames.BlobRefsTable));
        var resolver = dns ?? MailCloud.Dns.DnsResolver.FromEnvironment();
        var authentication = new MailCloud.Pipeline.Authentication.AuthenticationCheck(resolver, account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer));
        var blockLists = new MailCloud.Pipeline.Authentication.DnsblCheck(resolver, dnsbl ?? MailCloud.Pipeline.Authentication.DnsblCheck.ZonesFromEnvironment());
        var inbound = new InboundProcessor(account, directory, MessageFilter.Default(hostName, authentication, blockLists), indexer, hostName, logger);
        var housekeeping = new Housekeeping(account, orphanAge ?? TimeSpan.FromDays(30), logger);
        var deliverer = new RemoteDeliverer(account, resolver, delivery ?? DeliveryOptions.FromEnvironment(), hostName, logger, directory: directory);

        app.MapPost("/inbound", (HttpContext ctx) => InvokeAsync(ctx, logger, async (item, ct) =>
        {
            var r = await inbound.ProcessAsync(BinaryData.FromString(item), ct);
            return $"inbound: {r.Local} indexed, {r.Queued} queued for indexing, {r.Remote} remote, {r.Failed} failed{(r.Loop ? " (loop)" : "")}";
        }));
        app.MapPost("/index", (HttpContext ctx) => InvokeAsync(ctx, logger, async (item, ct) =>
        {
            var work = JsonSerializer.Deserialize<IndexWorkItem>(item, WorkItemJson.Options) ?? throw new InvalidDataException("empty index work item");
            var r = await indexer.IndexAsync(MailAddress.Parse(work.User), work, ct);
            return $"index: {work.MessageId} -> {work.User}/{work.Folder} uid {r.Uid}{(r.AlreadyIndexed ? " (already indexed)" : "")}";
        }));
        app.MapPost("/deliver", (HttpContext ctx) => InvokeAsync(ctx, logger, async (item, ct) =>
        {
            var work = JsonSerializer.Deserialize<OutboundWorkItem>(item, WorkItemJson.Options) ?? throw new InvalidDataException("empty outbound work item");
            var r = await deliverer.DeliverAsync(work, ct);
            return $"deliver: {work.MessageId} to {work.Domain}: {r.Delivered} delivered, {r.Deferred} deferred, {r.Failed} failed";
        }));
        app.MapPost("/housekeeping", (HttpContext ctx) => InvokeAsync(ctx, logger, async (_, ct) =>
        {
            var r = await housekeeping.RunAsync(ct);
            return $"housekeeping: {r.MessagesDeleted} deleted, {r.MessagesKept} kept, {r.EnvelopesDeleted} envelopes";
        }, triggerIsQueue: false));
        return app;
    }

    private static async Task InvokeAsync(HttpContext context, ILogger logger, Func<string, CancellationToken, Task<string>> run, bool triggerIsQueue = true)
    {
        var logs = new List<string>();
        int status = 200;
        try
        {
            using var request = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            string item = string.Empty;
            if (triggerIsQueue)
            {
                var data = request.RootElement.GetProperty("Data");
                var value = data.EnumerateObject().First().Value;
                // The host hands a queue message over as a JSON string; tolerate an already-parsed object too.
                item = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
            }
            logs.Add(await run(item, context.RequestAborted));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            status = 500;
            logger.LogError(e, "function {Path} failed", context.Request.Path);
            logs.Add($"failed: {e.GetType().Name}: {e.Message}");
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new { Outputs = new Dictionary<string, object>(), Logs = logs, ReturnValue = (object?)null });
    }
}
