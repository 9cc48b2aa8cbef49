using System.Globalization;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace MailCloud.Storage;

/// <summary>
/// Signs each attempt with SharedKey (the date is refreshed per retry). Blob and Queue use the full
/// string-to-sign with canonicalized x-ms headers; Table uses its shorter SharedKey form.
/// </summary>
internal sealed class SharedKeyPolicy(SharedKeyCredential credential, StorageService service) : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message)
    {
        var request = message.Request;
        var date = DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture);
        request.Headers.SetValue("x-ms-date", date);
        var stringToSign = service == StorageService.Table
            ? BuildTableStringToSign(request, credential.AccountName)
            : BuildBlobQueueStringToSign(request, credential.AccountName);
        request.Headers.SetValue("Authorization", $"SharedKey {credential.AccountName}:{credential.Sign(stringToSign)}");
    }

    internal static string BuildBlobQueueStringToSign(Request request, string accountName)
    {
        string H(string name) => request.Headers.TryGetValue(name, out var v) ? v : string.Empty;

        long contentLength = 0;
        if (request.Content is not null && request.Content.TryComputeLength(out var len))
            contentLength = len;

        var sb = new StringBuilder();
        sb.Append(request.Method.Method).Append('\n');
        sb.Append(H("Content-Encoding")).Append('\n');
        sb.Append(H("Content-Language")).Append('\n');
        sb.Append(contentLength == 0 ? string.Empty : contentLength.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append(H("Content-MD5")).Append('\n');
        sb.Append(H("Content-Type")).Append('\n');
        sb.Append(string.Empty).Append('\n'); // Date: we always send x-ms-date instead
        sb.Append(H("If-Modified-Since")).Append('\n');
        sb.Append(H("If-Match")).Append('\n');
        sb.Append(H("If-None-Match")).Append('\n');
        sb.Append(H("If-Unmodified-Since")).Append('\n');
        sb.Append(H("Range")).Append('\n');

        foreach (var header in request.Headers
                     .Where(h => h.Name.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
                     .Select(h => (Name: h.Name.ToLowerInvariant(), h.Value))
                     .OrderBy(h => h.Name, StringComparer.Ordinal))
        {
            sb.Append(header.Name).Append(':').Append(header.Value.Trim()).Append('\n');
        }

        var uri = request.Uri.ToUri();
        sb.Append('/').Append(accountName).Append(uri.AbsolutePath.Length > 0 ? uri.AbsolutePath : "/");
        foreach (var (name, values) in ParseQuery(uri.Query).OrderBy(p => p.Key, StringComparer.Ordinal))
            sb.Append('\n').Append(name).Append(':').Append(string.Join(',', values.Order(StringComparer.Ordinal)));
        return sb.ToString();
    }

    internal static string BuildTableStringToSign(Request request, string accountName)
    {
        string H(string name) => request.Headers.TryGetValue(name, out var v) ? v : string.Empty;
        var uri = request.Uri.ToUri();
        var sb = new StringBuilder();
        sb.Append(request.Method.Method).Append('\n');
        sb.Append(H("Content-MD5")).Append('\n');
        sb.Append(H("Content-Type")).Append('\n');
        sb.Append(H("x-ms-date")).Append('\n');
        sb.Append('/').Append(accountName).Append(uri.AbsolutePath.Length > 0 ? uri.AbsolutePath : "/");
        var query = ParseQuery(uri.Query);
        if (query.TryGetValue("comp", out var comp))
            sb.Append("?comp=").Append(string.Join(',', comp));
        return sb.ToString();
    }

    private static Dictionary<string, List<string>> ParseQuery(string query)
    {
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]).ToLowerInvariant();
            var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (!result.TryGetValue(name, out var list))
                result[name] = list = [];
            list.Add(value);
        }
        return result;
    }
}
