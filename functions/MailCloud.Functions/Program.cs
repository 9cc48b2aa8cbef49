using MailCloud.Core;
using MailCloud.Functions;
using Microsoft.Extensions.Hosting;

// The isolated worker under the Azure Functions host: the host owns the triggers (queues, timer) and calls the
// [Function] methods in PipelineFunctions through the SDK's generated executor.
var host = new HostBuilder()
    .ConfigureFunctionsWorkerDefaults()
    .ConfigureServices(services => services.AddMailCloudPipeline(PipelineSettings.FromEnvironment(new MailCloudSettings())))
    .Build();
await host.RunAsync();
