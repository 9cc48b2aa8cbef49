using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace MailCloud.FunctionalTests.Webmail;

/// <summary>
/// Reading mail in a real browser (Debian chromium through Playwright): new mail appears by itself, mail HTML is
/// sanitized (its script and event handlers never run), remote images are not fetched until the reader allows them
/// (a local HTTP listener counts every request), conversations, search, keyboard shortcuts, the phone-width layout.
/// </summary>
[Collection(WebmailCollection.Name)]
public sealed class WebmailReadingTests(WebmailFixture fx)
{
    [Fact]
    public async Task Delivered_mail_appears_and_its_html_cannot_run_script_or_reach_the_network_without_consent()
    {
        using var tracker = new RequestCounter();
        var page = await fx.SignInAsync("alice@example.test");
        var dialogs = 0;
        page.Dialog += async (_, d) => { dialogs++; await d.DismissAsync(); };
        await WebmailFixture.ScreenshotAsync(page, "01-inbox-empty");

        // Delivered while the page is open: the change event brings it into the list without a click.
        await fx.DeliverAsync("news@remote.example", "alice@example.test", $"""
            From: Newsletter <news@remote.example>
            To: alice@example.test
            Subject: Weekly news with pictures
            Message-ID: <news-1@remote.example>
            MIME-Version: 1.0
            Content-Type: text/html; charset=utf-8

            <html><body><h2>Hello Alice</h2>
            <p onmouseover="alert('handler')">Our news.</p>
            <script>alert('script'); fetch('{tracker.Url}script');</script>
            <img src="{tracker.Url}pixel.png" onerror="alert('onerror')" alt="tracking pixel">
            <div style="background-image:url({tracker.Url}background.png)">styled</div>
            <a href="javascript:alert('link')">bad link</a> <a href="https://example.org/">good link</a>
            </body></html>
            """);
        var row = page.Locator("#messages tbody tr", new() { HasText = "Weekly news with pictures" });
        await row.WaitForAsync(new() { Timeout = 30_000 });
        Assert.Contains("unseen", await row.GetAttributeAsync("class") ?? string.Empty, StringComparison.Ordinal);
        await WebmailFixture.ScreenshotAsync(page, "02-inbox");

        await row.Locator("td.subject a").ClickAsync();
        await page.WaitForURLAsync(new Regex("/mail/read"));
        var readUrl = page.Url;
        await page.Locator("#images-banner").WaitForAsync();
        var frame = page.FrameLocator("#body-frame");
        await frame.Locator("h2", new() { HasText = "Hello Alice" }).WaitForAsync();
        await frame.Locator("p", new() { HasText = "Our news." }).HoverAsync();
        await Task.Delay(500);
        await WebmailFixture.ScreenshotAsync(page, "03-message-images-blocked");

        // Sanitized: no script element, no handler attributes, no javascript: link; nothing fetched; nothing ran.
        var html = await frame.Locator("body").InnerHTMLAsync();
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("onerror", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("onmouseover", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("javascript:", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("https://example.org/", html, StringComparison.Ordinal);
        Assert.Equal(0, dialogs);
        Assert.Equal(0, tracker.Count);
        Assert.Equal("allow-popups allow-popups-to-escape-sandbox", await page.Locator("#body-frame").GetAttributeAsync("sandbox"));

        // Opening it marked it read, as an IMAP client sees.
        var flags = await fx.ImapAsync("alice@example.test", "m.select('INBOX')\nprint(m.fetch('1', '(FLAGS)')[1][0].decode())");
        Assert.Contains(@"\Seen", flags, StringComparison.Ordinal);

        // Consent for this message: the images (and the styled background) load, the script still does not run.
        await page.ClickAsync("#show-images");
        await page.FrameLocator("#body-frame").Locator("h2").WaitForAsync();
        await WaitUntilAsync(() => tracker.Paths.Contains("/pixel.png"));
        await WebmailFixture.ScreenshotAsync(page, "04-message-images-shown");
        Assert.DoesNotContain("/script", tracker.Paths);
        Assert.Equal(0, dialogs);

        // Consent for the sender: stored with the user's settings, the message no longer asks.
        await page.GotoAsync(readUrl);
        await page.ClickAsync("#trust-sender");
        await page.Locator("#images-banner").WaitForAsync(new() { State = WaitForSelectorState.Detached });
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Conversations_search_and_keyboard_shortcuts()
    {
        const string user = "carol@example.test";
        await fx.DeliverAsync("dan@remote.example", user, """
            From: Dan <dan@remote.example>
            To: carol@example.test
            Subject: Budget 2027
            Message-ID: <budget-1@remote.example>

            What do we spend on the offsite?
            """);
        await fx.DeliverAsync("eve@remote.example", user, """
            From: Eve <eve@remote.example>
            To: carol@example.test
            Subject: Re: Budget 2027
            Message-ID: <budget-2@remote.example>
            In-Reply-To: <budget-1@remote.example>
            References: <budget-1@remote.example>

            Less than last year, the zeppelin is out.
            """);
        await fx.DeliverAsync("dan@remote.example", user, """
            From: Dan <dan@remote.example>
            To: carol@example.test
            Subject: Re: Budget 2027
            Message-ID: <budget-3@remote.example>
            In-Reply-To: <budget-2@remote.example>
            References: <budget-1@remote.example> <budget-2@remote.example>

            Fine by me.
            """);
        await fx.DeliverAsync("frank@remote.example", user, """
            From: Frank <frank@remote.example>
            To: carol@example.test
            Subject: Lunch on Friday
            Message-ID: <lunch-1@remote.example>

            Pizza?
            """);
        var page = await fx.SignInAsync(user);
        await WaitForRowsAsync(page, 4);

        // Conversations: the three budget messages are one line with a count; the read view lists the thread.
        await page.ClickAsync("#threads-toggle");
        await page.WaitForURLAsync(new Regex("threads=true"));
        Assert.Equal(2, await page.Locator("#messages tbody tr").CountAsync());
        Assert.Equal("3", (await page.Locator("#messages tbody tr", new() { HasText = "Budget" }).Locator(".thread-count").InnerTextAsync()).Trim());
        await WebmailFixture.ScreenshotAsync(page, "05-conversations");
        await page.Locator("#messages tbody tr", new() { HasText = "Budget" }).Locator("td.subject a").ClickAsync();
        await page.Locator("#conversation li").First.WaitForAsync();
        Assert.Equal(3, await page.Locator("#conversation li").CountAsync());

        // Search: by sender, by subject, and by text only the body holds.
        await page.GotoAsync(fx.BaseUrl + "/mail?folder=INBOX&from=Frank");
        Assert.Equal(["Lunch on Friday"], await SubjectsAsync(page));
        await page.GotoAsync(fx.BaseUrl + "/mail?folder=INBOX");
        await page.FillAsync("#q", "budget");
        await page.PressAsync("#q", "Enter");
        await page.WaitForURLAsync(new Regex("q=budget"));
        Assert.Equal(3, (await SubjectsAsync(page)).Count);
        await page.GotoAsync(fx.BaseUrl + "/mail?folder=INBOX");
        await page.ClickAsync(".advanced summary");
        await page.FillAsync("input[name=body]", "zeppelin");
        await page.ClickAsync("#search-button");
        await page.WaitForURLAsync(new Regex("body=zeppelin"));
        Assert.Equal(["Re: Budget 2027"], await SubjectsAsync(page));
        await WebmailFixture.ScreenshotAsync(page, "06-search");
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await page.GotoAsync(fx.BaseUrl + $"/mail?folder=INBOX&before={today}");
        Assert.Empty(await SubjectsAsync(page));

        // Sorting by subject ignores reply prefixes: the three budget messages (in whatever order the pipeline
        // indexed them), then lunch; descending, lunch first.
        await page.GotoAsync(fx.BaseUrl + "/mail?folder=INBOX&sort=subject&dir=asc");
        var ascending = await SubjectsAsync(page);
        Assert.All(ascending.Take(3), s => Assert.EndsWith("Budget 2027", s, StringComparison.Ordinal));
        Assert.Equal("Lunch on Friday", ascending[3]);
        await page.GotoAsync(fx.BaseUrl + "/mail?folder=INBOX&sort=subject&dir=desc");
        Assert.Equal("Lunch on Friday", (await SubjectsAsync(page))[0]);

        // Keyboard: j moves the cursor, Enter opens, r replies, u goes back, / focuses search, c composes.
        await page.GotoAsync(fx.BaseUrl + "/mail?folder=INBOX");
        await page.Keyboard.PressAsync("j");
        await page.Keyboard.PressAsync("j");
        Assert.Equal(1, await page.Locator("#messages tbody tr.cursor").CountAsync());
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync(new Regex("/mail/read"));
        await page.Keyboard.PressAsync("r");
        await page.WaitForURLAsync(new Regex("mode=reply"));
        Assert.StartsWith("Re: ", await page.InputValueAsync("#subject"), StringComparison.Ordinal);
        await page.GoBackAsync();
        await page.Keyboard.PressAsync("u");
        await page.WaitForURLAsync(new Regex("/mail\\?folder=INBOX"));
        await page.Keyboard.PressAsync("/");
        Assert.Equal("q", await page.EvaluateAsync<string>("document.activeElement.id"));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_layout_works_at_a_phones_width()
    {
        const string user = "frank@example.test";
        await fx.DeliverAsync("gina@remote.example", user, """
            From: Gina Longname-Withmanyletters <gina@remote.example>
            To: frank@example.test
            Subject: A subject line long enough to need truncating on a narrow phone screen, and then some more words
            Message-ID: <phone-1@remote.example>

            Short body.
            """);
        var page = await fx.SignInAsync(user, new ViewportSize { Width = 390, Height = 844 });
        await WaitForRowsAsync(page, 1);
        await WebmailFixture.ScreenshotAsync(page, "07-phone-inbox");
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the list scrolls sideways at 390 px");
        // The folders sit above the list, not beside it.
        var nav = await page.Locator("nav.folders").BoundingBoxAsync();
        var table = await page.Locator("#messages").BoundingBoxAsync();
        Assert.True(nav!.Y + nav.Height <= table!.Y + 1, $"folders at {nav.Y}+{nav.Height}, list at {table.Y}");
        await page.Locator("#messages tbody tr td.subject a").First.ClickAsync();
        await page.WaitForURLAsync(new Regex("/mail/read"));
        await page.FrameLocator("#body-frame").Locator("pre").WaitForAsync();
        await WebmailFixture.ScreenshotAsync(page, "08-phone-message");
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the message scrolls sideways at 390 px");
        await page.GotoAsync(fx.BaseUrl + "/mail/compose");
        await WebmailFixture.ScreenshotAsync(page, "09-phone-compose");
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the composer scrolls sideways at 390 px");
        await page.Context.CloseAsync();
    }

    /// <summary>
    /// Waits until the list shows <paramref name="count"/> rows (<paramref name="text"/>: rows containing it). The page
    /// reloads itself when the change event comes; a reload of ours now and then covers a missed one, and a
    /// navigation cut short by the page's own reload is simply tried again.
    /// </summary>
    internal static async Task WaitForRowsAsync(IPage page, int count, string? text = null)
    {
        ILocator Rows() => text is null ? page.Locator("#messages tbody tr") : page.Locator("#messages tbody tr", new() { HasText = text });
        for (int i = 0; i < 120; i++)
        {
            try
            {
                if (await Rows().CountAsync() >= count)
                    break;
                await Task.Delay(250);
                if (i % 8 == 7)
                    await page.ReloadAsync();
            }
            catch (PlaywrightException)
            {
                // The page navigated (its own reload) while we looked: look again.
                await Task.Delay(250);
            }
        }
        await page.WaitForLoadStateAsync(LoadState.Load);
        Assert.Equal(count, await Rows().CountAsync());
    }

    private static async Task<List<string>> SubjectsAsync(IPage page) =>
        (await page.Locator("#messages tbody td.subject a").AllInnerTextsAsync()).Select(s => s.Trim()).ToList();

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 100 && !condition(); i++)
            await Task.Delay(100);
        Assert.True(condition());
    }
}

/// <summary>A local HTTP server that counts the requests it gets (a stand-in for a tracker's image server).</summary>
public sealed class RequestCounter : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _paths = new();

    public RequestCounter()
    {
        Url = $"http://127.0.0.1:{MailCloud.LocalDev.AzuriteProcess.FreePort()}/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                try
                {
                    var context = await _listener.GetContextAsync();
                    _paths.Enqueue(context.Request.Url!.AbsolutePath);
                    // A 1x1 transparent GIF.
                    var gif = Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");
                    context.Response.ContentType = "image/gif";
                    await context.Response.OutputStream.WriteAsync(gif);
                    context.Response.Close();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
            }
        });
    }

    public string Url { get; }
    public int Count => _paths.Count;
    public IReadOnlyCollection<string> Paths => _paths.ToArray();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
    }
}
