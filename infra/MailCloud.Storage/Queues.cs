using System.Globalization;
using System.Security;
using System.Text;
using System.Xml;
using Azure.Core;

namespace MailCloud.Storage;

/// <summary>How message bodies are put on the wire. Base64 is what the Azure Functions queue trigger expects by default.</summary>
public enum QueueMessageEncoding
{
    Base64,
    None,
}

public sealed record SendReceipt(string MessageId, string PopReceipt, DateTimeOffset InsertionTime, DateTimeOffset ExpirationTime, DateTimeOffset TimeNextVisible);

public sealed record UpdateReceipt(string PopReceipt, DateTimeOffset TimeNextVisible);

/// <summary>A received (or peeked) message. <see cref="PopReceipt"/> is null for peeked messages.</summary>
public sealed record QueueMessage(
    string MessageId,
    string? PopReceipt,
    long DequeueCount,
    DateTimeOffset InsertionTime,
    DateTimeOffset ExpirationTime,
    DateTimeOffset? TimeNextVisible,
    string MessageText,
    BinaryData Body);

public sealed class QueueServiceClient
{
    private readonly ServicePipeline _pipeline;

    public QueueServiceClient(StorageConnection connection, StorageClientOptions? options = null) =>
        _pipeline = new ServicePipeline(connection, StorageService.Queue, options ?? new StorageClientOptions());

    public StorageRequestCounter RequestCounter => _pipeline.Options.RequestCounter;

    public QueueClient GetQueueClient(string name, QueueMessageEncoding encoding = QueueMessageEncoding.Base64) => new(_pipeline, name, encoding);
}

public sealed class QueueClient
{
    /// <summary>The service's limits: 32 messages per receive, 7 days of visibility delay, 64 KiB per message.</summary>
    public const int MaxMessagesPerReceive = 32;
    public static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromDays(7);
    public const int MaxMessageBytes = 64 * 1024;

    private readonly ServicePipeline _pipeline;

    internal QueueClient(ServicePipeline pipeline, string name, QueueMessageEncoding encoding)
    {
        _pipeline = pipeline;
        Name = name;
        Encoding = encoding;
    }

    public string Name { get; }
    public QueueMessageEncoding Encoding { get; }

    private Uri QueueUri(string? sub = null, string? query = null) =>
        UriPaths.Combine(_pipeline.Endpoint, sub is null ? Name : $"{Name}/{sub}", query);

    /// <summary>Creates the queue; returns false when it already existed.</summary>
    public async Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Put, "CreateQueue", QueueUri());
        var response = await _pipeline.SendAsync(msg, cancellationToken, 201, 204, 409).ConfigureAwait(false);
        return response.Status == 201;
    }

    public async Task<bool> DeleteIfExistsAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Delete, "DeleteQueue", QueueUri());
        var response = await _pipeline.SendAsync(msg, cancellationToken, 204, 404).ConfigureAwait(false);
        return response.Status == 204;
    }

    public async Task<bool> ExistsAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Get, "GetQueueMetadata", QueueUri(query: "comp=metadata"));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200, 404).ConfigureAwait(false);
        return response.Status == 200;
    }

    /// <summary>The service's approximate count of messages (visible and invisible).</summary>
    public async Task<int> GetApproximateMessageCountAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Get, "GetQueueMetadata", QueueUri(query: "comp=metadata"));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200).ConfigureAwait(false);
        return response.Headers.TryGetValue("x-ms-approximate-messages-count", out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : 0;
    }

    public Task<SendReceipt> SendMessageAsync(string text, TimeSpan? visibilityDelay = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) =>
        SendMessageAsync(BinaryData.FromString(text), visibilityDelay, timeToLive, cancellationToken);

    /// <summary>
    /// Enqueues a message. <paramref name="visibilityDelay"/> hides it for that long (up to 7 days);
    /// <paramref name="timeToLive"/> defaults to the service's 7 days, <see cref="Timeout.InfiniteTimeSpan"/> never expires.
    /// </summary>
    public async Task<SendReceipt> SendMessageAsync(BinaryData body, TimeSpan? visibilityDelay = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        var text = Encode(body);
        if (System.Text.Encoding.UTF8.GetByteCount(text) > MaxMessageBytes)
            throw new ArgumentException($"Queue message is larger than {MaxMessageBytes} bytes once encoded; put the payload in a blob and enqueue a pointer.", nameof(body));
        var query = UriPaths.Query(
            ("visibilitytimeout", visibilityDelay is { } d ? Seconds(d).ToString(CultureInfo.InvariantCulture) : null),
            ("messagettl", timeToLive is { } t ? (t == Timeout.InfiniteTimeSpan ? "-1" : Seconds(t).ToString(CultureInfo.InvariantCulture)) : null));
        using var msg = _pipeline.CreateMessage(RequestMethod.Post, "PutMessage", QueueUri("messages", query));
        msg.Request.Headers.SetValue("Content-Type", "application/xml");
        msg.Request.Content = RequestContent.Create(System.Text.Encoding.UTF8.GetBytes(Envelope(text)));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 201).ConfigureAwait(false);
        var m = ParseMessages(response.Content.ToString()).Single();
        return new SendReceipt(m.Id, m.PopReceipt ?? string.Empty, m.Insertion, m.Expiration, m.NextVisible ?? default);
    }

    /// <summary>Receives up to <paramref name="maxMessages"/> (1–32) messages, hiding them for <paramref name="visibilityTimeout"/>.</summary>
    public async Task<IReadOnlyList<QueueMessage>> ReceiveMessagesAsync(int maxMessages = 1, TimeSpan? visibilityTimeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, MaxMessagesPerReceive);
        var query = UriPaths.Query(("numofmessages", maxMessages.ToString(CultureInfo.InvariantCulture)),
            ("visibilitytimeout", visibilityTimeout is { } v ? Seconds(v).ToString(CultureInfo.InvariantCulture) : null));
        using var msg = _pipeline.CreateMessage(RequestMethod.Get, "GetMessages", QueueUri("messages", query));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200).ConfigureAwait(false);
        return ParseMessages(response.Content.ToString()).Select(ToMessage).ToList();
    }

    public async Task<IReadOnlyList<QueueMessage>> PeekMessagesAsync(int maxMessages = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, MaxMessagesPerReceive);
        var query = UriPaths.Query(("peekonly", "true"), ("numofmessages", maxMessages.ToString(CultureInfo.InvariantCulture)));
        using var msg = _pipeline.CreateMessage(RequestMethod.Get, "PeekMessages", QueueUri("messages", query));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200).ConfigureAwait(false);
        return ParseMessages(response.Content.ToString()).Select(ToMessage).ToList();
    }

    public async Task DeleteMessageAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Delete, "DeleteMessage", QueueUri($"messages/{messageId}", UriPaths.Query(("popreceipt", popReceipt))));
        await _pipeline.SendAsync(msg, cancellationToken, 204).ConfigureAwait(false);
    }

    /// <summary>Changes when the message becomes visible again and, optionally, its content. Returns the new pop receipt.</summary>
    public async Task<UpdateReceipt> UpdateMessageAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, BinaryData? newBody = null, CancellationToken cancellationToken = default)
    {
        var query = UriPaths.Query(("popreceipt", popReceipt), ("visibilitytimeout", Seconds(visibilityTimeout).ToString(CultureInfo.InvariantCulture)));
        using var msg = _pipeline.CreateMessage(RequestMethod.Put, "UpdateMessage", QueueUri($"messages/{messageId}", query));
        if (newBody is not null)
        {
            msg.Request.Headers.SetValue("Content-Type", "application/xml");
            msg.Request.Content = RequestContent.Create(System.Text.Encoding.UTF8.GetBytes(Envelope(Encode(newBody))));
        }
        var response = await _pipeline.SendAsync(msg, cancellationToken, 204).ConfigureAwait(false);
        response.Headers.TryGetValue("x-ms-popreceipt", out var receipt);
        response.Headers.TryGetValue("x-ms-time-next-visible", out var next);
        return new UpdateReceipt(receipt ?? string.Empty, ParseDate(next) ?? default);
    }

    public async Task ClearMessagesAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Delete, "ClearMessages", QueueUri("messages"));
        await _pipeline.SendAsync(msg, cancellationToken, 204).ConfigureAwait(false);
    }

    private static int Seconds(TimeSpan t) => (int)Math.Max(0, Math.Ceiling(t.TotalSeconds));

    private string Encode(BinaryData body) =>
        Encoding == QueueMessageEncoding.Base64 ? Convert.ToBase64String(body.ToMemory().Span) : body.ToString();

    private BinaryData Decode(string text)
    {
        if (Encoding == QueueMessageEncoding.None)
            return BinaryData.FromString(text);
        try
        {
            return BinaryData.FromBytes(Convert.FromBase64String(text));
        }
        catch (FormatException)
        {
            // A message someone else put on the queue unencoded: hand it over as it is rather than lose it.
            return BinaryData.FromString(text);
        }
    }

    private static string Envelope(string text) =>
        $"<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText>{SecurityElement.Escape(text)}</MessageText></QueueMessage>";

    private QueueMessage ToMessage(RawMessage m) =>
        new(m.Id, m.PopReceipt, m.DequeueCount, m.Insertion, m.Expiration, m.NextVisible, m.Text, Decode(m.Text));

    private sealed record RawMessage(string Id, string? PopReceipt, long DequeueCount, DateTimeOffset Insertion, DateTimeOffset Expiration, DateTimeOffset? NextVisible, string Text);

    private static List<RawMessage> ParseMessages(string xml)
    {
        var list = new List<RawMessage>();
        if (string.IsNullOrWhiteSpace(xml))
            return list;
        var doc = new XmlDocument { XmlResolver = null };
        doc.LoadXml(xml);
        foreach (XmlNode n in doc.SelectNodes("/QueueMessagesList/QueueMessage")!)
        {
            list.Add(new RawMessage(
                n["MessageId"]?.InnerText ?? string.Empty,
                n["PopReceipt"]?.InnerText,
                long.TryParse(n["DequeueCount"]?.InnerText, CultureInfo.InvariantCulture, out var dc) ? dc : 0,
                ParseDate(n["InsertionTime"]?.InnerText) ?? default,
                ParseDate(n["ExpirationTime"]?.InnerText) ?? default,
                ParseDate(n["TimeNextVisible"]?.InnerText),
                n["MessageText"]?.InnerText ?? string.Empty));
        }
        return list;
    }

    private static DateTimeOffset? ParseDate(string? s) =>
        DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : null;
}
