using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using MailCloud.Core;
using MailCloud.FrontEnd;
using MailCloud.LocalDev;
using Microsoft.Extensions.Logging;

namespace MailCloud.FunctionalTests.Webmail;

/// <summary>
/// The webmail's defences, each tried: sign-in throttled by the limiter the mail protocols share, sessions that end
/// when the password changes, antiforgery on every state-changing request, security headers on every page and a
/// script-free CSP on the message frame, cookies HttpOnly/SameSite (and Secure over HTTPS), attachments that can
/// never run as pages, and the submission rule that a user sends only as their own addresses.
/// </summary>
[Collection(WebmailCollection.Name)]
public sealed class WebmailSecurityTests(WebmailFixture fx)
{
    [Fact]
    public async Task Wrong_passwords_are_throttled_by_the_limiter_imap_shares()
    {
        // A front-end process of its own (web and IMAP), so the block it earns does not touch the other tests.
        var env = new Dictionary<string, string>(fx.Environment) { ["MAILCLOUD_AUTH_MAX_FAILURES"] = "3", ["MAILCLOUD_AUTH_FAILURE_DELAY"] = "0s" };
        ListenerPorts.Assign(env);
        var settings = new MailCloudSettings(n => env.GetValueOrDefault(n));
        using var certificate = DevCertificate.LoadOrCreate(Path.Combine(Path.GetTempPath(), "mailcloud-tests", Guid.NewGuid().ToString("N"), "tls.pfx"));
        await using var frontEnds = await FrontEnds.StartAsync(settings, fx.Account, certificate, ["imap", "web"], logging: b => b.ClearProviders());
        int Port(string name) => settings.Port(MailCloudSettings.Listeners.Single(l => l.Name == name));

        var context = await fx.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var url = $"http://127.0.0.1:{Port("web")}/mail/login";
        for (int i = 0; i < 3; i++)
        {
            await page.GotoAsync(url);
            await page.FillAsync("input[name=user]", "alice@example.test");
            await page.FillAsync("input[name=password]", "not the password " + i);
            await page.ClickAsync("button[type=submit]");
            Assert.Equal("Wrong address or password.", (await page.Locator("#login-error").InnerTextAsync()).Trim());
        }
        await WebmailFixture.ScreenshotAsync(page, "14-login-failed");
        // Now even the right password is refused from this address, and so is IMAP's LOGIN: one limiter.
        await page.GotoAsync(url);
        await page.FillAsync("input[name=user]", "alice@example.test");
        await page.FillAsync("input[name=password]", WebmailFixture.Password);
        await page.ClickAsync("button[type=submit]");
        Assert.StartsWith("Too many failed sign-ins", (await page.Locator("#login-error").InnerTextAsync()).Trim(), StringComparison.Ordinal);
        Assert.False(await WebmailFixture.ImapLoginSucceedsAsync(Port("imaps"), "alice@example.test")); // this process's IMAP
        await context.CloseAsync();
    }

    [Fact]
    public async Task The_signature_set_in_settings_goes_into_new_messages()
    {
        var page = await fx.SignInAsync("judy@example.test");
        await page.GotoAsync(fx.BaseUrl + "/mail/settings");
        await page.FillAsync("#signature", "Judy\nExample Ltd.");
        await page.ClickAsync("#save-settings");
        await page.WaitForURLAsync(new Regex("notice=settings"));
        Assert.Equal("Judy\nExample Ltd.", await page.InputValueAsync("#signature"));
        await page.GotoAsync(fx.BaseUrl + "/mail/compose");
        Assert.EndsWith("-- \nJudy\nExample Ltd.", await page.InputValueAsync("#text"), StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_password_change_ends_every_session_at_once()
    {
        var henry = MailAddress.Parse("henry@example.test");
        await fx.Directory.AddUserAsync(henry, WebmailFixture.Password);
        var page = await fx.SignInAsync(henry.Address);
        await page.GotoAsync(fx.BaseUrl + "/mail/settings");
        Assert.EndsWith("/mail/settings", page.Url, StringComparison.Ordinal);
        await fx.Directory.SetPasswordAsync(henry, "a new password for henry");
        await page.GotoAsync(fx.BaseUrl + "/mail/settings");
        Assert.Contains("/mail/login", page.Url, StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task State_changes_need_the_antiforgery_token_and_every_response_carries_the_security_headers()
    {
        using var client = await SignedInClientAsync(fx.BaseUrl, "grace@example.test");
        var page = await client.Http.GetAsync("/mail");
        page.EnsureSuccessStatusCode();
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("object-src 'none'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());

        // Without the token every POST is refused (and changes nothing); with it, it works.
        await fx.DeliverAsync("x@remote.example", "grace@example.test", "From: x@remote.example\nTo: grace@example.test\nSubject: antiforgery\nMessage-ID: <af-1@remote.example>\n\nbody\n");
        var uid = await WaitForUidAsync(client, "antiforgery");
        var form = new Dictionary<string, string> { ["folder"] = "INBOX", ["act"] = "flag", ["uid"] = uid };
        Assert.Equal(HttpStatusCode.BadRequest, (await client.Http.PostAsync("/mail?handler=Act", new FormUrlEncodedContent(form))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.Http.PostAsync("/mail/upload", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.Http.PostAsync("/mail/settings", new FormUrlEncodedContent(new Dictionary<string, string> { ["signature"] = "x" }))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.Http.PostAsync("/mail/logout", null)).StatusCode);
        var flags = await fx.ImapAsync("grace@example.test", $"m.select('INBOX')\nprint(m.uid('FETCH', '{uid}', '(FLAGS)')[1][0].decode())");
        Assert.DoesNotContain(@"\Flagged", flags, StringComparison.Ordinal);
        var token = await client.TokenAsync("/mail");
        form["__RequestVerificationToken"] = token;
        Assert.Equal(HttpStatusCode.Redirect, (await client.Http.PostAsync("/mail?handler=Act", new FormUrlEncodedContent(form))).StatusCode);
        flags = await fx.ImapAsync("grace@example.test", $"m.select('INBOX')\nprint(m.uid('FETCH', '{uid}', '(FLAGS)')[1][0].decode())");
        Assert.Contains(@"\Flagged", flags, StringComparison.Ordinal);

        // The message frame: no script at all, framed only by our own pages.
        var body = await client.Http.GetAsync($"/mail/body?folder=INBOX&uid={uid}");
        var frameCsp = body.Headers.GetValues("Content-Security-Policy").Single();
        Assert.StartsWith("default-src 'none'", frameCsp, StringComparison.Ordinal);
        Assert.DoesNotContain("script-src", frameCsp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'self'", frameCsp, StringComparison.Ordinal);
        // Raw source is text, sandboxed, never a page of ours.
        var raw = await client.Http.GetAsync($"/mail/raw?folder=INBOX&uid={uid}");
        Assert.Equal("text/plain", raw.Content.Headers.ContentType!.MediaType);
        Assert.Contains("sandbox", raw.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_html_attachment_downloads_instead_of_running_and_a_user_sends_only_as_themselves()
    {
        await fx.DeliverAsync("x@remote.example", "grace@example.test", """
            From: x@remote.example
            To: grace@example.test
            Subject: html attachment
            Message-ID: <att-1@remote.example>
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: text/plain

            see attached
            --b
            Content-Type: text/html; name="evil.html"
            Content-Disposition: attachment; filename="evil.html"

            <script>document.cookie</script>
            --b--
            """);
        using var client = await SignedInClientAsync(fx.BaseUrl, "grace@example.test");
        var uid = await WaitForUidAsync(client, "html attachment");
        var part = await client.Http.GetAsync($"/mail/part?folder=INBOX&uid={uid}&index=1");
        part.EnsureSuccessStatusCode();
        Assert.Equal("application/octet-stream", part.Content.Headers.ContentType!.MediaType);
        Assert.Equal("attachment", part.Content.Headers.ContentDisposition!.DispositionType);
        Assert.Contains("sandbox", part.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        // Sending as someone else is refused with the reason, as SMTP submission refuses MAIL FROM; an alias of one's own works.
        var token = await client.TokenAsync("/mail/compose");
        var send = new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token, ["From"] = "alice@example.test", ["To"] = "bob@example.test", ["Subject"] = "spoof", ["Text"] = "hi",
        };
        var refused = await client.Http.PostAsync("/mail/compose?handler=Send", new FormUrlEncodedContent(send));
        Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
        Assert.Contains("You cannot send as alice@example.test", WebUtility.HtmlDecode(await refused.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        using var alice = await SignedInClientAsync(fx.BaseUrl, "alice@example.test");
        send["__RequestVerificationToken"] = await alice.TokenAsync("/mail/compose");
        send["From"] = "sales@example.test";
        send["Subject"] = "from the sales alias";
        var sent = await alice.Http.PostAsync("/mail/compose?handler=Send", new FormUrlEncodedContent(send));
        Assert.Equal(HttpStatusCode.Redirect, sent.StatusCode);
        Assert.Contains("notice=sent", sent.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cookies_are_httponly_samesite_and_secure_over_https()
    {
        using var client = await SignedInClientAsync($"https://127.0.0.1:{fx.Port("webs")}", "grace@example.test");
        var cookie = client.SessionCookie!;
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/mail", cookie, StringComparison.OrdinalIgnoreCase);
        (await client.Http.GetAsync("/mail")).EnsureSuccessStatusCode();
        // Over plain HTTP (loopback, or behind a TLS-terminating ingress) the same cookie is not marked Secure.
        using var plain = await SignedInClientAsync(fx.BaseUrl, "grace@example.test");
        Assert.DoesNotContain("secure", plain.SessionCookie!, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<string> WaitForUidAsync(WebClient client, string subject)
    {
        for (int i = 0; i < 60; i++)
        {
            var html = await client.Http.GetStringAsync("/mail?folder=INBOX");
            var m = Regex.Match(html, "data-uid=\"(\\d+)\"[^>]*>(?:(?!</tr>).)*" + Regex.Escape(subject), RegexOptions.Singleline);
            if (m.Success)
                return m.Groups[1].Value;
            await Task.Delay(500);
        }
        throw new TimeoutException($"no message '{subject}' listed");
    }

    private static async Task<WebClient> SignedInClientAsync(string baseUrl, string user)
    {
        var client = new WebClient(baseUrl);
        var token = await client.TokenAsync("/mail/login");
        var response = await client.Http.PostAsync("/mail/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["user"] = user, ["password"] = WebmailFixture.Password, ["__RequestVerificationToken"] = token,
        }));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        client.SessionCookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("mc_session=", StringComparison.Ordinal));
        return client;
    }

    /// <summary>An HTTP client with a cookie jar, not following redirects (so they can be checked).</summary>
    private sealed class WebClient : IDisposable
    {
        private readonly HttpClientHandler _handler = new()
        {
            CookieContainer = new CookieContainer(), AllowAutoRedirect = false,
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert is not null, // the test's self-signed certificate
        };

        public WebClient(string baseUrl) => Http = new HttpClient(_handler) { BaseAddress = new Uri(baseUrl) };

        public HttpClient Http { get; }
        public string? SessionCookie { get; set; }

        /// <summary>The antiforgery token of a page's form (and its cookie, now in the jar).</summary>
        public async Task<string> TokenAsync(string path)
        {
            var html = await Http.GetStringAsync(path);
            return Regex.Match(html, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;
        }

        public void Dispose()
        {
            Http.Dispose();
            _handler.Dispose();
        }
    }
}
