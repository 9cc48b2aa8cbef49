using System.Text;
using System.Text.Json;
using System.Xml;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace MailCloud.Storage;

/// <summary>One HTTP pipeline for one storage service: versioning, auth, counting, error mapping.</summary>
internal sealed class ServicePipeline
{
    private const string OperationProperty = "mailcloud.operation";

    public ServicePipeline(StorageConnection connection, StorageService service, StorageClientOptions options)
    {
        Service = service;
        Options = options;
        Endpoint = service switch
        {
            StorageService.Blob => connection.BlobEndpoint,
            StorageService.Queue => connection.QueueEndpoint,
            _ => connection.TableEndpoint,
        };
        ServiceName = service.ToString().ToLowerInvariant();
        var version = service == StorageService.Table ? options.TableServiceVersion : options.BlobQueueServiceVersion;

        HttpPipelinePolicy auth = connection.TokenCredential is { } token
            ? new BearerTokenAuthenticationPolicy(token, "https://storage.azure.com/.default")
            : connection.SharedKey is { } key
                ? new SharedKeyPolicy(key, service)
                : throw new InvalidOperationException("Storage connection has neither an account key nor a token credential.");

        Pipeline = HttpPipelineBuilder.Build(
            options,
            perCallPolicies: [new HeaderPolicy("x-ms-version", version)],
            perRetryPolicies: [new CountingPolicy(options.RequestCounter, ServiceName), auth],
            responseClassifier: new ResponseClassifier());
    }

    public StorageService Service { get; }
    public string ServiceName { get; }
    public Uri Endpoint { get; }
    public StorageClientOptions Options { get; }
    public HttpPipeline Pipeline { get; }

    public HttpMessage CreateMessage(RequestMethod method, string operation, Uri uri)
    {
        var message = Pipeline.CreateMessage();
        message.Request.Method = method;
        message.Request.Uri.Reset(uri);
        message.SetProperty(OperationProperty, operation);
        return message;
    }

    /// <summary>Sends and throws a <see cref="RequestFailedException"/> (or <see cref="PreconditionFailedException"/>) unless the status is expected.</summary>
    public async Task<Response> SendAsync(HttpMessage message, CancellationToken cancellationToken, params int[] expected)
    {
        await Pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var response = message.Response;
        if (expected.Length == 0 ? response.Status is >= 200 and < 300 : expected.Contains(response.Status))
            return response;
        throw await CreateExceptionAsync(response, message.TryGetProperty(OperationProperty, out var op) ? op as string : null, cancellationToken).ConfigureAwait(false);
    }

    internal static async Task<RequestFailedException> CreateExceptionAsync(Response response, string? operation, CancellationToken cancellationToken)
    {
        response.Headers.TryGetValue("x-ms-error-code", out var code);
        string? detail = null;
        try
        {
            var body = await ReadBodyAsync(response, 16 * 1024, cancellationToken).ConfigureAwait(false);
            (var bodyCode, detail) = ParseErrorBody(body);
            code ??= bodyCode;
        }
        catch (Exception e) when (e is IOException or JsonException or XmlException)
        {
            // The error body is advisory; the status and header still tell what failed.
        }
        var message = $"{operation ?? "Storage request"} failed: {response.Status} {response.ReasonPhrase}" +
                      (code is null ? "" : $" ({code})") + (detail is null ? "" : $": {FirstLine(detail)}");
        return response.Status == 412
            ? new PreconditionFailedException(message, code)
            : new RequestFailedException(response.Status, message, code, null);
    }

    private static string FirstLine(string s)
    {
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }

    private static async Task<string> ReadBodyAsync(Response response, int limit, CancellationToken cancellationToken)
    {
        if (response.ContentStream is null)
            return string.Empty;
        var buffer = new byte[limit];
        int total = 0, read;
        while (total < limit && (read = await response.ContentStream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
            total += read;
        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    internal static (string? Code, string? Message) ParseErrorBody(string body)
    {
        body = body.Trim().TrimStart('\uFEFF');
        if (body.Length == 0)
            return (null, null);
        if (body[0] == '<')
        {
            var doc = new XmlDocument { XmlResolver = null };
            doc.LoadXml(body);
            return (doc.SelectSingleNode("/Error/Code")?.InnerText, doc.SelectSingleNode("/Error/Message")?.InnerText);
        }
        if (body[0] == '{')
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.TryGetProperty("odata.error", out var err) || json.RootElement.TryGetProperty("error", out err))
            {
                var code = err.TryGetProperty("code", out var c) ? c.GetString() : null;
                string? msg = null;
                if (err.TryGetProperty("message", out var m))
                    msg = m.ValueKind == JsonValueKind.Object && m.TryGetProperty("value", out var v) ? v.GetString() : m.ToString();
                return (code, msg);
            }
        }
        return (null, null);
    }

    private sealed class HeaderPolicy(string name, string value) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message) => message.Request.Headers.SetValue(name, value);
    }

    private sealed class CountingPolicy(StorageRequestCounter counter, string service) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message) =>
            counter.Increment(service, message.TryGetProperty(OperationProperty, out var op) && op is string s ? s : "Other");
    }
}
