using MailCloud.Core;
using MailCloud.Functions;
using Microsoft.Extensions.Hosting;

// The isolated worker under the Azure Functions host: the host owns the triggers (queues, timer) and calls the
// [Function] methods in PipelineFunctions through the SDK's generated executor.
// Metrics over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (delivery outcomes, storage requests).
using var metrics = MailCloud.Telemetry.MetricsExport.Start(Environment.GetEnvironmentVariable, "mailcloud-functions");
var host = new HostBuilder()
    .ConfigureFunctionsWorkerDefaults()
    .ConfigureServices(services => services.AddMailCloudPipeline(PipelineSettings.FromEnvironment(new MailCloudSettings())))
    .Build();
await host.RunAsync();
