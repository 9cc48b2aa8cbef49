using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace MailCloud.Filtering;

/// <summary>What the SMTP front end knew about a message, as rspamd's request headers carry it.</summary>
public sealed record RspamdEnvelope(string? ClientAddress, string? Helo, string Sender, IReadOnlyList<string> Recipients, string? User, string QueueId, string? HostName);

/// <summary>One rspamd symbol that fired (name, score, its options).</summary>
public sealed record RspamdSymbol(string Name, double Score, IReadOnlyList<string> Options);

/// <summary>rspamd's answer to /checkv2: its action ("no action", "add header", "rewrite subject", "greylist", "soft reject", "reject"), score and symbols.</summary>
public sealed record RspamdResult(string Action, double Score, double RequiredScore, IReadOnlyList<RspamdSymbol> Symbols, string? SubjectRewrite, string? Message);

/// <summary>Learning statistics from the controller's /stat: messages learned and each statfile's revision.</summary>
public sealed record RspamdStats(long Learned, long Scanned, IReadOnlyDictionary<string, long> Revisions);

/// <summary>
/// rspamd's HTTP protocol. The scanner worker (default port 11333) answers /checkv2 with the message as the request
/// body and the envelope as headers; the controller (11334) learns with /learnspam and /learnham and reports /stat.
/// The message is streamed (the caller passes the blob's download stream), never buffered here.
/// </summary>
public sealed class RspamdClient(HttpClient http, Uri scanner, Uri? controller = null, string? password = null)
{
    public const string Engine = "rspamd";

    public Uri Scanner { get; } = scanner;
    public Uri? Controller { get; } = controller;

    public async Task<RspamdResult> CheckAsync(Stream message, long length, RspamdEnvelope envelope, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Scanner, "/checkv2")) { Content = Body(message, length) };
        if (envelope.ClientAddress is { Length: > 0 } ip)
            request.Headers.TryAddWithoutValidation("IP", ip);
        if (envelope.Helo is { Length: > 0 } helo)
            request.Headers.TryAddWithoutValidation("Helo", helo);
        request.Headers.TryAddWithoutValidation("From", envelope.Sender);
        foreach (var rcpt in envelope.Recipients)
            request.Headers.TryAddWithoutValidation("Rcpt", rcpt);
        if (envelope.User is { Length: > 0 } user)
            request.Headers.TryAddWithoutValidation("User", user);
        request.Headers.TryAddWithoutValidation("Queue-Id", envelope.QueueId);
        if (envelope.HostName is { Length: > 0 } host)
            request.Headers.TryAddWithoutValidation("MTA-Name", host);
        using var doc = await SendAsync(request, "check", cancellationToken).ConfigureAwait(false);
        return Parse(doc.RootElement);
    }

    /// <summary>Teaches the classifier. False when rspamd already learned this message that way (not an error).</summary>
    public async Task<bool> LearnAsync(Stream message, long length, bool spam, CancellationToken cancellationToken)
    {
        var controller = Controller ?? throw new InvalidOperationException("no rspamd controller configured");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(controller, spam ? "/learnspam" : "/learnham")) { Content = Body(message, length) };
        AddPassword(request);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
                return true;
            // 208 or 404 "has been already learned": the same message twice (a repeated work item) is fine.
            if (text.Contains("already learned", StringComparison.OrdinalIgnoreCase) || response.StatusCode == HttpStatusCode.AlreadyReported)
                return false;
            // Too few tokens to learn from is permanent for this message; anything else may pass.
            if (text.Contains("tokens", StringComparison.OrdinalIgnoreCase) && (int)response.StatusCode is >= 400 and < 500)
                return false;
            throw new EngineUnavailableException(Engine, $"learn answered {(int)response.StatusCode}: {Trim(text)}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new EngineUnavailableException(Engine, "controller unreachable: " + e.Message, e);
        }
    }

    public async Task<RspamdStats> StatsAsync(CancellationToken cancellationToken)
    {
        var controller = Controller ?? throw new InvalidOperationException("no rspamd controller configured");
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(controller, "/stat"));
        AddPassword(request);
        using var doc = await SendAsync(request, "stat", cancellationToken).ConfigureAwait(false);
        var root = doc.RootElement;
        var revisions = new Dictionary<string, long>(StringComparer.Ordinal);
        if (root.TryGetProperty("statfiles", out var files) && files.ValueKind == JsonValueKind.Array)
        {
            foreach (var f in files.EnumerateArray())
            {
                if (f.TryGetProperty("symbol", out var s) && f.TryGetProperty("revision", out var r) && r.TryGetInt64(out var rev))
                    revisions[s.GetString() ?? string.Empty] = rev;
            }
        }
        return new RspamdStats(Long(root, "learned"), Long(root, "scanned"), revisions);
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(Scanner, "/ping"), cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    internal static RspamdResult Parse(JsonElement root)
    {
        var symbols = new List<RspamdSymbol>();
        if (root.TryGetProperty("symbols", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            foreach (var s in map.EnumerateObject())
            {
                var options = s.Value.TryGetProperty("options", out var o) && o.ValueKind == JsonValueKind.Array
                    ? o.EnumerateArray().Select(x => x.ToString()).ToList() : [];
                symbols.Add(new RspamdSymbol(s.Name, Double(s.Value, "score"), options));
            }
        }
        string? message = root.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Object && m.TryGetProperty("smtp_message", out var sm) ? sm.GetString() : null;
        string? subject = root.TryGetProperty("subject", out var sub) ? sub.GetString() : null;
        var action = root.TryGetProperty("action", out var a) ? a.GetString() ?? "no action" : "no action";
        return new RspamdResult(action, Double(root, "score"), Double(root, "required_score"), symbols.OrderByDescending(s => Math.Abs(s.Score)).ThenBy(s => s.Name, StringComparer.Ordinal).ToList(), subject, message);
    }

    private async Task<JsonDocument> SendAsync(HttpRequestMessage request, string what, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new EngineUnavailableException(Engine, $"{what} answered {(int)response.StatusCode}: {Trim(text)}");
            var doc = JsonDocument.Parse(text);
            if (doc.RootElement.TryGetProperty("error", out var error))
            {
                doc.Dispose();
                throw new EngineUnavailableException(Engine, $"{what} failed: {error}");
            }
            return doc;
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || e is TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new EngineUnavailableException(Engine, $"{what} at {Scanner.Authority} failed: {e.Message}", e);
        }
    }

    private void AddPassword(HttpRequestMessage request)
    {
        if (!string.IsNullOrEmpty(password))
            request.Headers.TryAddWithoutValidation("Password", password);
    }

    private static StreamContent Body(Stream message, long length)
    {
        var content = new StreamContent(message, 64 * 1024);
        content.Headers.ContentLength = length;
        content.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        return content;
    }

    private static double Double(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;

    private static long Long(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var l) ? l : 0;

    private static string Trim(string text) => text.Length <= 200 ? text : text[..200];

    /// <summary>Formats a score the way the headers show it (one decimal, invariant).</summary>
    public static string Score(double score) => score.ToString("0.0", CultureInfo.InvariantCulture);
}
