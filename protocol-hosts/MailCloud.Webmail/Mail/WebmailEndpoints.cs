using System.Reflection;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace MailCloud.Webmail;

/// <summary>The non-page endpoints under <c>/mail</c>: message frame, parts, raw source, chunked uploads, change events, assets.</summary>
internal static class WebmailEndpoints
{

    public static void Map(WebApplication app)
    {
        app.MapGet("/mail/assets/{name}", (HttpContext http, string name) =>
        {
            // Cached by the browser (the pages' no-store does not apply): every request under /mail with a session
            // cookie costs the sign-in check's directory read, so assets fetched once an hour, not per page.
            http.Response.Headers.CacheControl = "private, max-age=3600";
            http.Response.Headers.Pragma = Microsoft.Extensions.Primitives.StringValues.Empty;
            var type = Path.GetExtension(name) switch { ".js" => "text/javascript; charset=utf-8", ".css" => "text/css; charset=utf-8", ".svg" => "image/svg+xml", _ => null };
            using var stream = type is null ? null : Assembly.GetExecutingAssembly().GetManifestResourceStream(name);
            if (stream is null)
                return Results.NotFound();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return Results.Bytes(copy.ToArray(), type);
        });

        var mail = app.MapGroup("/mail").RequireAuthorization(WebmailAuth.Scheme);

        // The message as the sandboxed frame shows it: sanitized HTML or escaped text, with a CSP of its own.
        mail.MapGet("/body", async (HttpContext http, MessageReader reader, WebmailServices services, string folder, long uid, bool? images) =>
        {
            var user = WebmailAuth.User(http)!;
            if (await reader.RenderAsync(user.Address, folder, uid, http.RequestAborted) is not { } message)
                return Results.NotFound();
            var trusted = message.SenderAddress is { } sender && (await services.Preferences.GetAsync(user.Address, http.RequestAborted)).ImageSenders.Contains(sender);
            bool allow = images == true || trusted;
            string document;
            if (message.Html is { } html)
            {
                var clean = HtmlCleaner.Clean(html, message.Mime, allow);
                http.Response.Headers["X-MailCloud-Blocked"] = clean.BlockedRemote.ToString(System.Globalization.CultureInfo.InvariantCulture);
                document = HtmlCleaner.Document(clean);
            }
            else
            {
                document = HtmlCleaner.TextDocument(message.Text ?? string.Empty);
            }
            http.Response.Headers.ContentSecurityPolicy = HtmlCleaner.FramePolicy(allow);
            http.Response.Headers.XFrameOptions = "SAMEORIGIN";
            return Results.Content(document, "text/html; charset=utf-8");
        });

        // An attachment: always a download unless it is a plain image; never run as a page of ours.
        mail.MapGet("/part", async (HttpContext http, MessageReader reader, WebmailServices services, string folder, long uid, int index) =>
        {
            var user = WebmailAuth.User(http)!;
            if (await reader.RenderAsync(user.Address, folder, uid, http.RequestAborted) is not { } message || MessageRenderer.Part(message.Mime, index) is not { } part)
                return Results.NotFound();
            var info = message.Attachments.FirstOrDefault(a => a.Index == index);
            var type = part.ContentType.MimeType;
            bool image = type is "image/png" or "image/jpeg" or "image/gif" or "image/webp";
            http.Response.Headers.ContentSecurityPolicy = "sandbox; default-src 'none'";
            var name = info?.FileName ?? $"part-{index + 1}";
            return image
                ? Results.File(MessageRenderer.Content(part), type)
                : Results.File(MessageRenderer.Content(part), "application/octet-stream", name);
        });

        mail.MapGet("/raw", async (HttpContext http, MessageReader reader, string folder, long uid, bool? download) =>
        {
            var user = WebmailAuth.User(http)!;
            if (await reader.ReadAsync(user.Address, folder, uid, http.RequestAborted) is not { } m)
                return Results.NotFound();
            http.Response.Headers.ContentSecurityPolicy = "sandbox; default-src 'none'";
            return download == true ? Results.File(m.Bytes, "message/rfc822", $"message-{uid}.eml") : Results.Bytes(m.Bytes, "text/plain; charset=utf-8");
        });

        // Chunked uploads: start, one request per chunk (any replica can take it), done. Antiforgery on each.
        mail.MapPost("/upload", async (HttpContext http, WebmailServices services) =>
        {
            if (!await WebmailHost.ValidAsync(http))
                return Results.BadRequest(new { error = "the form expired; reload the page" });
            return Results.Json(new { id = UploadStore.NewId(), chunkSize = UploadStore.ChunkSize, maxSize = services.Options.MaxMessageSize });
        }).DisableAntiforgery();
        mail.MapPost("/upload/{id}/{index:int}", async (HttpContext http, WebmailServices services, string id, int index) =>
        {
            if (!await WebmailHost.ValidAsync(http))
                return Results.BadRequest(new { error = "the form expired; reload the page" });
            if (!UploadStore.IsId(id) || index < 0 || (long)index * UploadStore.ChunkSize > services.Options.MaxMessageSize || http.Request.ContentLength > UploadStore.ChunkSize)
                return Results.BadRequest(new { error = "bad chunk" });
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body, http.RequestAborted);
            if (body.Length > UploadStore.ChunkSize)
                return Results.BadRequest(new { error = "chunk too large" });
            body.Position = 0;
            await services.Uploads.StageAsync(WebmailAuth.User(http)!.Address, id, index, body, http.RequestAborted);
            return Results.NoContent();
        }).DisableAntiforgery();
        mail.MapPost("/upload/{id}/done", async (HttpContext http, WebmailServices services, string id, int count, string name, string? type) =>
        {
            if (!await WebmailHost.ValidAsync(http))
                return Results.BadRequest(new { error = "the form expired; reload the page" });
            if (!UploadStore.IsId(id) || count < 1 || string.IsNullOrWhiteSpace(name) || name.Length > 255)
                return Results.BadRequest(new { error = "bad upload" });
            try
            {
                var info = await services.Uploads.CompleteAsync(WebmailAuth.User(http)!.Address, id, count, Path.GetFileName(name), string.IsNullOrWhiteSpace(type) ? "application/octet-stream" : type,
                    services.Options.MaxMessageSize, http.RequestAborted);
                return Results.Json(new { id = info.Id, name = info.FileName, size = info.Size });
            }
            catch (InvalidDataException e)
            {
                return Results.Json(new { error = e.Message }, statusCode: 413);
            }
        }).DisableAntiforgery();

        // Server-sent events: "changed" when a folder's counts move. Woken by the change hub (the index stage, the
        // webmail itself, the push endpoint), with a state check every EventPoll for changes made on other hosts.
        mail.MapGet("/events", async (HttpContext http, MailboxView view, WebmailServices services) =>
        {
            var user = WebmailAuth.User(http)!.Address;
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            var wake = new SemaphoreSlim(0);
            using var subscription = services.Changes.Subscribe((u, _) =>
            {
                if (u.Equals(user))
                    wake.Release();
            });
            string last = await StateAsync(view, user, http.RequestAborted);
            await http.Response.WriteAsync($"event: hello\ndata: {last}\n\n", http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            try
            {
                while (!http.RequestAborted.IsCancellationRequested)
                {
                    await wake.WaitAsync(services.Options.EventPoll, http.RequestAborted);
                    var now = await StateAsync(view, user, http.RequestAborted);
                    if (now != last)
                    {
                        last = now;
                        await http.Response.WriteAsync($"event: changed\ndata: {now}\n\n", http.RequestAborted);
                    }
                    else
                    {
                        await http.Response.WriteAsync(": keep-alive\n\n", http.RequestAborted);
                    }
                    await http.Response.Body.FlushAsync(http.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
                // The page went away.
            }
        });
    }

    /// <summary>The folders' counts in one line: what the page compares to know that it is out of date.</summary>
    private static async Task<string> StateAsync(MailboxView view, MailAddress user, CancellationToken ct)
    {
        var sb = new StringBuilder("{");
        foreach (var f in await view.FoldersAsync(user, ct))
        {
            if (sb.Length > 1)
                sb.Append(',');
            sb.Append(System.Text.Json.JsonSerializer.Serialize(f.Name)).Append(":[").Append(f.Exists).Append(',').Append(f.Unseen).Append(',').Append(f.HighestModSeq).Append(']');
        }
        return sb.Append('}').ToString();
    }
}
