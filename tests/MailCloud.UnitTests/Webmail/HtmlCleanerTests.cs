using MailCloud.Webmail;
using MimeKit;

namespace MailCloud.UnitTests.Webmail;

/// <summary>Mail HTML as the message frame gets it: scripts, handlers and dangerous URLs gone, remote loads only with consent.</summary>
public sealed class HtmlCleanerTests
{
    private static MimeMessage WithInlineImage()
    {
        var builder = new BodyBuilder { HtmlBody = "<p>logo</p>" };
        var image = builder.LinkedResources.Add("logo.png", Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="), new ContentType("image", "png"));
        image.ContentId = "logo@example.test";
        return new MimeMessage { Body = builder.ToMessageBody() };
    }

    [Fact]
    public void Scripts_handlers_and_javascript_urls_are_removed()
    {
        var clean = HtmlCleaner.Clean("""
            <p onclick="alert(1)">hi</p><script>alert(2)</script><img src="x" onerror="alert(3)">
            <a href="javascript:alert(4)">a</a><iframe src="https://evil.example/"></iframe><form action="https://evil.example/"><input name="p"></form>
            <svg><script>alert(5)</script></svg><object data="x.swf"></object><meta http-equiv="refresh" content="0;url=https://evil.example/">
            """, new MimeMessage(), allowRemote: true).Html;
        foreach (var bad in new[] { "onclick", "<script", "onerror", "javascript:", "<iframe", "<form", "<object", "http-equiv", "alert(5)" })
            Assert.DoesNotContain(bad, clean, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<p>hi</p>", clean, StringComparison.Ordinal);
    }

    [Fact]
    public void Remote_images_and_css_urls_are_held_back_until_allowed_and_counted()
    {
        const string html = """<img src="https://tracker.example/p.gif"><div style="background:url(https://tracker.example/bg.png)">x</div><a href="https://example.org/">link</a>""";
        var blocked = HtmlCleaner.Clean(html, new MimeMessage(), allowRemote: false);
        Assert.DoesNotContain("tracker.example", blocked.Html, StringComparison.Ordinal);
        Assert.Equal(2, blocked.BlockedRemote);
        // Links are not loads: they stay, opening outside the frame without a referrer.
        Assert.Contains("href=\"https://example.org/\"", blocked.Html, StringComparison.Ordinal);
        Assert.Contains("rel=\"noopener noreferrer\"", blocked.Html, StringComparison.Ordinal);
        Assert.Contains("target=\"_blank\"", blocked.Html, StringComparison.Ordinal);

        var allowed = HtmlCleaner.Clean(html, new MimeMessage(), allowRemote: true);
        Assert.Contains("https://tracker.example/p.gif", allowed.Html, StringComparison.Ordinal);
        Assert.Equal(0, allowed.BlockedRemote);
    }

    [Fact]
    public void Cid_images_become_data_urls_of_the_messages_own_part_and_svg_data_urls_are_dropped()
    {
        var clean = HtmlCleaner.Clean("""<img src="cid:logo@example.test"><img src="cid:missing@example.test"><img src="data:image/svg+xml;base64,PHN2Zz4=">""", WithInlineImage(), allowRemote: false);
        Assert.Contains("src=\"data:image/png;base64,iVBOR", clean.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("cid:", clean.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("svg", clean.Html, StringComparison.Ordinal);
        Assert.Equal(0, clean.BlockedRemote);
    }

    [Fact]
    public void The_frame_policy_never_allows_script_and_allows_the_network_only_with_consent()
    {
        Assert.DoesNotContain("script-src", HtmlCleaner.FramePolicy(false), StringComparison.Ordinal);
        Assert.DoesNotContain("script-src", HtmlCleaner.FramePolicy(true), StringComparison.Ordinal);
        Assert.StartsWith("default-src 'none'", HtmlCleaner.FramePolicy(true), StringComparison.Ordinal);
        Assert.DoesNotContain("http:", HtmlCleaner.FramePolicy(false), StringComparison.Ordinal);
        Assert.Contains("img-src data: http: https:", HtmlCleaner.FramePolicy(true), StringComparison.Ordinal);
    }

    [Fact]
    public void Plain_text_is_escaped_and_its_links_made_clickable()
    {
        var doc = HtmlCleaner.TextDocument("<script>alert(1)</script>\n> quoted\nsee https://example.org/a?b=1");
        Assert.Contains("&lt;script&gt;", doc, StringComparison.Ordinal);
        Assert.Contains("<span class=\"q\">&gt; quoted</span>", doc, StringComparison.Ordinal);
        Assert.Contains("<a href=\"https://example.org/a?b=1\"", doc, StringComparison.Ordinal);
    }
}
