using System.Diagnostics.Metrics;

namespace MailCloud.Core;

/// <summary>
/// MailCloud's own instruments (System.Diagnostics.Metrics, meter <c>MailCloud</c>), exported over OpenTelemetry by
/// the hosts when configured (<c>infra/MailCloud.Telemetry</c>). The storage request counter has a meter of its own
/// (<c>MailCloud.Storage</c>); queue depths are observed by <c>QueueMetrics</c> in the front-end process.
/// </summary>
public static class MailMetrics
{
    public const string MeterName = "MailCloud";
    public static readonly Meter Meter = new(MeterName);

    /// <summary>Remote delivery per recipient: outcome = delivered, deferred (retried later) or bounced.</summary>
    public static readonly Counter<long> DeliveryRecipients = Meter.CreateCounter<long>("mailcloud.delivery.recipients", description: "Remote delivery attempts per recipient, by outcome");

    /// <summary>Messages the SMTP front end took responsibility for (250 after DATA/BDAT), by listener.</summary>
    public static readonly Counter<long> MessagesAccepted = Meter.CreateCounter<long>("mailcloud.smtp.accepted", description: "Messages accepted by the SMTP front end");

    public static void Delivery(string outcome, long recipients = 1)
    {
        if (recipients > 0)
            DeliveryRecipients.Add(recipients, new KeyValuePair<string, object?>("outcome", outcome));
    }
}
