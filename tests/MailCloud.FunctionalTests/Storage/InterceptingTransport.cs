using Azure.Core;
using Azure.Core.Pipeline;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>
/// The storage clients' HTTP transport with a test's hook around each request: to hold one back, or to run another
/// host's write just before it, against real Azurite.
/// </summary>
public abstract class InterceptingTransport : HttpPipelineTransport
{
    private readonly HttpPipelineTransport _inner = HttpClientTransport.Shared;

    public override Request CreateRequest() => _inner.CreateRequest();

    public override void Process(HttpMessage message) => ProcessAsync(message).AsTask().GetAwaiter().GetResult();

    /// <summary>Sends the request as the clients would.</summary>
    protected ValueTask SendAsync(HttpMessage message) => _inner.ProcessAsync(message);

    /// <summary>An entity-group transaction (Table storage's <c>$batch</c>).</summary>
    protected static bool IsTransaction(HttpMessage message) => message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal);
}
