using System.Globalization;
using MailCloud.Core;
using Azure.Monitor.OpenTelemetry.Exporter;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace MailCloud.Telemetry;

/// <summary>
/// Exports MailCloud's metrics over OTLP when the standard variables ask for it: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// (unset: no export), <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> (<c>grpc</c> or <c>http/protobuf</c>),
/// <c>OTEL_EXPORTER_OTLP_HEADERS</c>, <c>OTEL_METRIC_EXPORT_INTERVAL</c> (ms, default 60000) and
/// <c>OTEL_SERVICE_NAME</c>. In Azure, <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> (Bicep sets it from the
/// Application Insights resource) adds the Azure Monitor exporter: the same instruments as custom metrics there.
/// One provider per process; the hosts dispose it on shutdown (a last export).
/// </summary>
public static class MetricsExport
{
    public static MeterProvider? Start(Func<string, string?> environment, string defaultServiceName)
    {
        var endpoint = environment("OTEL_EXPORTER_OTLP_ENDPOINT");
        var appInsights = environment("APPLICATIONINSIGHTS_CONNECTION_STRING");
        if (string.IsNullOrWhiteSpace(endpoint) && string.IsNullOrWhiteSpace(appInsights))
            return null;
        var protocol = environment("OTEL_EXPORTER_OTLP_PROTOCOL")?.Trim() is "grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        var interval = int.TryParse(environment("OTEL_METRIC_EXPORT_INTERVAL"), NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms > 0 ? ms : 60_000;
        var service = environment("OTEL_SERVICE_NAME") is { Length: > 0 } name ? name : defaultServiceName;
        var builder = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService(service))
            .AddMeter(MailMetrics.MeterName, Storage.StorageRequestCounter.MeterName);
        if (!string.IsNullOrWhiteSpace(appInsights))
            builder = builder.AddAzureMonitorMetricExporter(o => o.ConnectionString = appInsights);
        if (string.IsNullOrWhiteSpace(endpoint))
            return builder.Build();
        return builder
            .AddOtlpExporter((exporter, reader) =>
            {
                var baseUri = new Uri(endpoint.TrimEnd('/') + "/");
                // With http/protobuf the variable names the collector's base; metrics go to /v1/metrics under it.
                exporter.Endpoint = protocol == OtlpExportProtocol.HttpProtobuf ? new Uri(baseUri, "v1/metrics") : new Uri(endpoint);
                exporter.Protocol = protocol;
                if (environment("OTEL_EXPORTER_OTLP_HEADERS") is { Length: > 0 } headers)
                    exporter.Headers = headers;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval;
            })
            .Build();
    }
}
