using System.Text;

namespace MailCloud.Mime;

/// <summary>One recipient's line in a delivery status notification (RFC 3464 2.3).</summary>
public sealed record DsnRecipient(
    string FinalRecipient,
    string Action,
    string Status,
    string? OriginalRecipient = null,
    string? RemoteMta = null,
    string? DiagnosticCode = null,
    DateTimeOffset? LastAttempt = null);

/// <summary>Builds a DSN (RFC 3464): multipart/report with a readable part, message/delivery-status and the original.</summary>
public static class DsnBuilder
{
    public static byte[] Build(
        string reportingMta,
        string postmaster,
        string recipient,
        IReadOnlyList<DsnRecipient> recipients,
        byte[] originalMessage,
        bool headersOnly,
        string? originalEnvelopeId = null,
        DateTimeOffset? arrivalDate = null,
        string? originalSubject = null)
    {
        bool delayed = recipients.All(r => r.Action == "delayed");
        var human = new StringBuilder();
        human.Append("This is the mail system at ").Append(reportingMta).Append(".\r\n\r\n");
        human.Append(delayed
            ? "Your message could not be delivered yet to the recipients below. Delivery will be retried; you do not need to resend it.\r\n\r\n"
            : "Your message could not be delivered to the recipients below. This is a permanent error.\r\n\r\n");
        foreach (var r in recipients)
            human.Append("  <").Append(r.FinalRecipient).Append(">: ").Append(r.DiagnosticCode ?? r.Status).Append("\r\n");

        var status = new StringBuilder();
        status.Append("Reporting-MTA: dns; ").Append(reportingMta).Append("\r\n");
        if (originalEnvelopeId is not null)
            status.Append("Original-Envelope-Id: ").Append(originalEnvelopeId).Append("\r\n");
        if (arrivalDate is { } arrived)
            status.Append("Arrival-Date: ").Append(DateParser.Format(arrived)).Append("\r\n");
        foreach (var r in recipients)
        {
            status.Append("\r\n");
            if (r.OriginalRecipient is not null)
                status.Append("Original-Recipient: ").Append(r.OriginalRecipient).Append("\r\n");
            status.Append("Final-Recipient: rfc822; ").Append(r.FinalRecipient).Append("\r\n");
            status.Append("Action: ").Append(r.Action).Append("\r\n");
            status.Append("Status: ").Append(r.Status).Append("\r\n");
            if (r.RemoteMta is not null)
                status.Append("Remote-MTA: dns; ").Append(r.RemoteMta).Append("\r\n");
            if (r.DiagnosticCode is not null)
                status.Append("Diagnostic-Code: smtp; ").Append(r.DiagnosticCode.ReplaceLineEndings(" ")).Append("\r\n");
            if (r.LastAttempt is { } at)
                status.Append("Last-Attempt-Date: ").Append(DateParser.Format(at)).Append("\r\n");
        }

        var report = new Multipart("report",
            new TextPart(human.ToString()) { Headers = { new("Content-Description", "Notification") } },
            new RawTextPart("message/delivery-status", status.ToString()) { Headers = { new("Content-Description", "Delivery report") } },
            new MessagePart(originalMessage, headersOnly) { Headers = { new("Content-Description", headersOnly ? "Undelivered message headers" : "Undelivered message") } });
        report.Parameters.Add(new("report-type", "delivery-status"));

        var builder = new MessageBuilder { Body = report }
            .Address("From", ("Mail Delivery System", postmaster))
            .Address("To", (null, recipient))
            .Subject((delayed ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender") + (originalSubject is null ? "" : ": " + originalSubject))
            .RawHeader("Auto-Submitted", "auto-replied");
        return builder.ToBytes();
    }
}

/// <summary>Prepends trace headers (Received, Authentication-Results, ...) to a message without touching its bytes.</summary>
public static class TraceHeaders
{
    public static Stream Prepend(IEnumerable<KeyValuePair<string, string>> headers, Stream message)
    {
        var sb = new StringBuilder();
        foreach (var (name, value) in headers)
            sb.Append(HeaderFolding.Format(name, value));
        return new ConcatenatedStream(new MemoryStream(Encoding.UTF8.GetBytes(sb.ToString())), message);
    }

    private sealed class ConcatenatedStream(Stream first, Stream second) : Stream
    {
        private bool _firstDone;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException("Length is unknown until read.");
        public override long Position { get => throw new NotSupportedException("Forward-only."); set => throw new NotSupportedException("Forward-only."); }
        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (!_firstDone)
            {
                int n = first.Read(buffer);
                if (n > 0)
                    return n;
                _firstDone = true;
            }
            return second.Read(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_firstDone)
            {
                int n = await first.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (n > 0)
                    return n;
                _firstDone = true;
            }
            return await second.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("Forward-only.");
        public override void SetLength(long value) => throw new NotSupportedException("Read-only.");
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read-only.");

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                first.Dispose();
                second.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
