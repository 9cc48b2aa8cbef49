using System.Globalization;
using MailCloud.Data;
using MailCloud.Filtering;

namespace MailCloud.Pipeline.Content;

/// <summary>
/// rspamd as the content scorer: the raw message streamed from its blob to /checkv2 with the envelope as headers.
/// Released messages are not scored again. When rspamd cannot answer, the check throws (the item is retried) unless
/// <paramref name="failOpen"/>, when the message goes on unscanned and its headers say so.
/// </summary>
public sealed class RspamdCheck(RspamdClient rspamd, IMessageContent messages, string hostName, bool failOpen = false) : IMessageCheck
{
    public async Task<CheckResult> CheckAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (context.Released)
            return new CheckResult("rspamd", Note: "released from quarantine: not scanned again");
        if (context.Envelope.Listener == "internal")
            return new CheckResult("rspamd"); // our own bounces
        var envelope = context.Envelope;
        try
        {
            await using var body = await context.OpenRawAsync(messages, cancellationToken).ConfigureAwait(false);
            var result = await rspamd.CheckAsync(body, context.Item.Size, new RspamdEnvelope(envelope.ClientAddress, envelope.Helo, envelope.Sender,
                envelope.Recipients.Select(r => r.Address).ToList(), envelope.AuthenticatedUser, context.Item.MessageId, hostName), cancellationToken).ConfigureAwait(false);
            return new CheckResult("rspamd", SpamScore: result.Score, Note: result.Message)
            {
                Engine = RspamdClient.Engine,
                Action = result.Action,
                Symbols = result.Symbols.Where(s => s.Score != 0 || s.Name == "GTUBE").Select(s => $"{s.Name}({s.Score.ToString("0.0#", CultureInfo.InvariantCulture)})").ToList(),
            };
        }
        catch (EngineUnavailableException e) when (failOpen)
        {
            return new CheckResult("rspamd", Note: $"not scanned ({e.Message}); delivered because MAILCLOUD_FILTER_FAIL_OPEN is set") { Unscanned = true };
        }
    }
}

/// <summary>
/// clamd as the virus scanner: the raw message streamed over INSTREAM (clamd decodes MIME itself). A released message
/// is not scanned again. Down → throw (retry) unless fail-open.
/// </summary>
public sealed class ClamdCheck(ClamdClient clamd, IMessageContent messages, bool failOpen = false) : IMessageCheck
{
    public async Task<CheckResult> CheckAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (context.Released)
            return new CheckResult("clamd", Note: "released from quarantine: not scanned again") { VirusScan = "released" };
        if (context.Envelope.Listener == "internal")
            return new CheckResult("clamd"); // our own bounces (headers only, never a payload)
        try
        {
            await using var body = await context.OpenRawAsync(messages, cancellationToken).ConfigureAwait(false);
            var result = await clamd.ScanAsync(body, cancellationToken).ConfigureAwait(false);
            if (!result.Clean)
                return new CheckResult("clamd", Note: $"virus found: {result.Virus}") { Virus = result.Virus, VirusScan = "infected" };
            return new CheckResult("clamd", Note: result.Truncated ? $"scanned the first {result.BytesScanned} bytes only (clamd's stream limit)" : null)
            {
                VirusScan = result.Truncated ? $"clean (first {result.BytesScanned} bytes)" : "clean",
            };
        }
        catch (EngineUnavailableException e) when (failOpen)
        {
            return new CheckResult("clamd", Note: $"not scanned ({e.Message}); delivered because MAILCLOUD_FILTER_FAIL_OPEN is set") { VirusScan = "unscanned", Unscanned = true };
        }
    }
}
