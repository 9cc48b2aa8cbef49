using System.Net;
using MailCloud.LocalDev;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Storage;

/// <summary>What the proxies do to each request, changeable while they run. Rates are chances per request.</summary>
public sealed class FaultPlan
{
    private readonly Random _random = new(20261201);
    private readonly object _lock = new();

    /// <summary>Answer 503 ServerBusy without forwarding: the service never saw the request.</summary>
    public double FailBefore { get; set; }

    /// <summary>Forward, then answer 500 instead of the service's reply: the change happened but the client does not know.</summary>
    public double FailAfter { get; set; }

    /// <summary>Added latency per request, picked uniformly in [min, max] ms.</summary>
    public (int Min, int Max) Delay { get; set; }

    private int _forwarded, _failedBefore, _failedAfter;

    public int Forwarded => Volatile.Read(ref _forwarded);
    public int FailedBefore => Volatile.Read(ref _failedBefore);
    public int FailedAfter => Volatile.Read(ref _failedAfter);

    internal void CountForwarded() => Interlocked.Increment(ref _forwarded);
    internal void CountFailedBefore() => Interlocked.Increment(ref _failedBefore);
    internal void CountFailedAfter() => Interlocked.Increment(ref _failedAfter);

    internal double Next()
    {
        lock (_lock)
            return _random.NextDouble();
    }

    internal int NextDelay()
    {
        lock (_lock)
            return Delay.Max <= 0 ? 0 : _random.Next(Delay.Min, Delay.Max + 1);
    }

    public void Heal()
    {
        FailBefore = 0;
        FailAfter = 0;
        Delay = (0, 0);
    }
}

/// <summary>
/// A fault-injecting HTTP proxy in front of one Azurite service port (Azurite itself cannot be told to fail or be
/// slow): requests pass through unchanged (Shared Key signatures do not cover the host), or get a 503 before they
/// reach Azurite, or a 500 after Azurite carried them out, or extra latency — per <see cref="FaultPlan"/>.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase) { "Host", "Connection", "Transfer-Encoding", "Keep-Alive", "Content-Length", "Expect" };
    private readonly WebApplication _app;
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None }) { Timeout = TimeSpan.FromMinutes(2) };

    private FaultProxy(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public static async Task<FaultProxy> StartAsync(int targetPort, FaultPlan plan)
    {
        int port = AzuriteProcess.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var proxy = new FaultProxy(app, port);
        app.Run(context => proxy.ForwardAsync(context, targetPort, plan));
        await app.StartAsync();
        return proxy;
    }

    private async Task ForwardAsync(HttpContext context, int targetPort, FaultPlan plan)
    {
        if (plan.NextDelay() is > 0 and var delay)
            await Task.Delay(delay);
        if (plan.Next() < plan.FailBefore)
        {
            plan.CountFailedBefore();
            await FailAsync(context, 503, "ServerBusy");
            return;
        }
        var request = context.Request;
        // The raw target, byte for byte: the Shared Key signature covers the path as the client escaped it.
        var target = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), new Uri($"http://127.0.0.1:{targetPort}{target}", UriKind.Absolute));
        var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        if (body.Length > 0 || request.ContentLength is not null)
            forward.Content = new ByteArrayContent(body.ToArray());
        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name))
                continue;
            if (!forward.Headers.TryAddWithoutValidation(name, values.ToArray()))
                forward.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
        }
        using var response = await _http.SendAsync(forward, HttpCompletionOption.ResponseContentRead);
        plan.CountForwarded();
        if (plan.Next() < plan.FailAfter)
        {
            plan.CountFailedAfter();
            await FailAsync(context, 500, "InternalError");
            return;
        }
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
                context.Response.Headers[name] = values.ToArray();
        }
        var bytes = await response.Content.ReadAsByteArrayAsync();
        if (bytes.Length > 0 || response.Content.Headers.ContentLength is not null)
            context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes);
    }

    private static async Task FailAsync(HttpContext context, int status, string code)
    {
        context.Response.StatusCode = status;
        context.Response.Headers["x-ms-error-code"] = code;
        context.Response.ContentType = "application/xml";
        await context.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>injected by the test's proxy</Message></Error>");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }
}
