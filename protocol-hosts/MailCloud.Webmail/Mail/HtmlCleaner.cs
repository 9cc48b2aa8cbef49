using System.Net;
using AngleSharp.Dom;
using Ganss.Xss;
using MimeKit;

namespace MailCloud.Webmail;

/// <summary>A message's HTML made safe to show, and what was held back.</summary>
public sealed record CleanHtml(string Html, int BlockedRemote);

/// <summary>
/// Mail HTML is never trusted. HtmlSanitizer keeps a list of harmless tags, attributes and CSS and drops the rest
/// (scripts, event handlers, forms, frames, javascript: URLs). On top of that: remote URLs that load something
/// (images, backgrounds, stylesheets) are removed unless the reader allowed them, <c>cid:</c> images become
/// <c>data:</c> URLs of the message's own parts (the frame needs no requests of its own), and links open outside the
/// frame without a referrer. The frame that shows the result is sandboxed without scripts and has a CSP that allows
/// no script and, unless allowed, no network: a second wall if the first has a hole.
/// </summary>
public static class HtmlCleaner
{
    /// <summary>Inline images larger than this are left out of the frame (they are still listed as attachments).</summary>
    public const long MaxInlineImage = 4 * 1024 * 1024;

    public static CleanHtml Clean(string html, MimeMessage message, bool allowRemote)
    {
        var sanitizer = new HtmlSanitizer();
        sanitizer.AllowedTags.Add("style");
        sanitizer.AllowedTags.Remove("form");
        sanitizer.AllowedSchemes.Clear();
        foreach (var scheme in new[] { "http", "https", "mailto", "cid", "data" })
            sanitizer.AllowedSchemes.Add(scheme);
        sanitizer.AllowedAtRules.Add(AngleSharp.Css.Dom.CssRuleType.Media);
        int blocked = 0;
        sanitizer.FilterUrl += (_, e) =>
        {
            var url = e.SanitizedUrl ?? string.Empty;
            var tag = e.Tag?.NodeName.ToLowerInvariant();
            bool isLink = tag is "a" or "area" && e.Tag!.GetAttribute("href") == e.OriginalUrl;
            if (url.StartsWith("cid:", StringComparison.OrdinalIgnoreCase))
                e.SanitizedUrl = InlineImage(message, url[4..]);
            else if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
                e.SanitizedUrl = !isLink && url.StartsWith("data:image/", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("data:image/svg", StringComparison.OrdinalIgnoreCase) ? url : null;
            else if (url.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
                e.SanitizedUrl = isLink ? url : null;
            else if (!isLink && !allowRemote)
            {
                blocked++;
                e.SanitizedUrl = null;
            }
        };
        sanitizer.PostProcessNode += (_, e) =>
        {
            if (e.Node is IElement { NodeName: "A" } a && a.HasAttribute("href"))
            {
                a.SetAttribute("target", "_blank");
                a.SetAttribute("rel", "noopener noreferrer");
            }
        };
        return new CleanHtml(sanitizer.Sanitize(html), blocked);
    }

    /// <summary>The frame's document: the cleaned HTML with a base of its own (links open in a new tab).</summary>
    public static string Document(CleanHtml clean) =>
        "<!doctype html><html><head><meta charset=\"utf-8\"><base target=\"_blank\"><style>body{font-family:system-ui,sans-serif;margin:8px;word-wrap:break-word}img{max-width:100%;height:auto}</style></head><body>"
        + clean.Html + "</body></html>";

    /// <summary>Plain text as the frame shows it: escaped, links made clickable, quoted lines marked.</summary>
    public static string TextDocument(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Select(line =>
        {
            var encoded = WebUtility.HtmlEncode(line);
            encoded = System.Text.RegularExpressions.Regex.Replace(encoded, @"\bhttps?://[^\s<>&""]+", m => $"<a href=\"{m.Value}\" target=\"_blank\" rel=\"noopener noreferrer\">{m.Value}</a>");
            return line.StartsWith('>') ? $"<span class=\"q\">{encoded}</span>" : encoded;
        });
        return "<!doctype html><html><head><meta charset=\"utf-8\"><style>body{margin:8px}pre{white-space:pre-wrap;word-wrap:break-word;font:14px/1.4 ui-monospace,monospace}.q{color:#555}</style></head><body><pre>"
            + string.Join('\n', lines) + "</pre></body></html>";
    }

    /// <summary>The Content-Security-Policy of the frame: no script ever; remote images and styles only when allowed.</summary>
    public static string FramePolicy(bool allowRemote) => allowRemote
        ? "default-src 'none'; img-src data: http: https:; style-src 'unsafe-inline' http: https:; font-src data: http: https:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
        : "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

    private static string? InlineImage(MimeMessage message, string contentId)
    {
        var id = Uri.UnescapeDataString(contentId).Trim('<', '>');
        var part = message.BodyParts.OfType<MimePart>().FirstOrDefault(p => string.Equals(p.ContentId, id, StringComparison.OrdinalIgnoreCase));
        if (part is null || !part.ContentType.MediaType.Equals("image", StringComparison.OrdinalIgnoreCase) || part.ContentType.MediaSubtype.Contains("svg", StringComparison.OrdinalIgnoreCase))
            return null;
        var bytes = MessageRenderer.Content(part);
        return bytes.Length > MaxInlineImage ? null : $"data:{part.ContentType.MimeType};base64,{Convert.ToBase64String(bytes)}";
    }
}
