using System.Globalization;
using MailCloud.Core;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace MailCloud.Telemetry;

/// <summary>
/// Exports MailCloud's metrics over OTLP when the standard variables ask for it: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// (unset: no export), <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> (<c>grpc</c> or <c>http/protobuf</c>),
/// <c>OTEL_EXPORTER_OTLP_HEADERS</c>, <c>OTEL_METRIC_EXPORT_INTERVAL</c> (ms, default 60000) and
/// <c>OTEL_SERVICE_NAME</c>. One provider per process; the hosts dispose it on shutdown (a last export).
/// </summary>
public static class MetricsExport
{
    public static MeterProvider? Start(Func<string, string?> environment, string defaultServiceName)
    {
        var endpoint = environment("OTEL_EXPORTER_OTLP_ENDPOINT");
        if (string.IsNullOrWhiteSpace(endpoint))
            return null;
        var protocol = environment("OTEL_EXPORTER_OTLP_PROTOCOL")?.Trim() is "grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        var interval = int.TryParse(environment("OTEL_METRIC_EXPORT_INTERVAL"), NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms > 0 ? ms : 60_000;
        var service = environment("OTEL_SERVICE_NAME") is { Length: > 0 } name ? name : defaultServiceName;
        return Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService(service))
            .AddMeter(MailMetrics.MeterName, Storage.StorageRequestCounter.MeterName)
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
