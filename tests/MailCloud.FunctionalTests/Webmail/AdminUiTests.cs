using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FunctionalTests.Dns;
using MailCloud.LocalDev;
using MailCloud.Protocols;
using MailCloud.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace MailCloud.FunctionalTests.Webmail;

/// <summary>
/// The admin UI in a real browser, over the same storage the running functions work on: sign-in by the admin token
/// (a wrong one refused), health, a domain added and its DNS checked live against a dnsmasq zone that lacks the DKIM
/// record, users with quota bars and a password reset, aliases and lists, and a poisoned work item replayed from the
/// queue page that ends in the mailbox exactly once; then a domain administrator signing in with her password, kept
/// to her domain (server-wide pages, other domains and edited forms refused), disabling a user whom IMAP then refuses,
/// and releasing her domain's held message into her INBOX.
/// </summary>
[Collection(WebmailCollection.Name)]
public sealed class AdminUiTests(WebmailFixture fx)
{
    /// <summary>A web host with only the admin UI, on a free port, and a browser page for it.</summary>
    private async Task<(WebApplication Web, string BaseUrl, IBrowserContext Context, IPage Page)> StartAsync(MailCloud.Admin.AdminServices admin)
    {
        int port = AzuriteProcess.FreePort();
        var web = WebHost.Build(new IPEndPoint(IPAddress.Loopback, port), new ClientEndpoints(WebmailFixture.HostName, 1, 2, 3, 4, 5), fx.Account,
            l => l.SetMinimumLevel(LogLevel.Warning), admin: admin);
        await web.StartAsync();
        var context = await fx.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(20_000);
        return (web, $"http://127.0.0.1:{port}", context, page);
    }

    [Fact]
    public async Task An_administrator_manages_domains_users_and_queues_in_the_browser()
    {
        // The zone of the new domain: MX, SPF and DMARC published, the DKIM key not yet.
        var dns = new DnsmasqFixture
        {
            ExtraRecords = ["--local=/hosted.test/", $"--mx-host=hosted.test,{WebmailFixture.HostName},10", "--txt-record=hosted.test,v=spf1 mx -all",
                "--txt-record=_dmarc.hosted.test,v=DMARC1; p=quarantine"],
        };
        await dns.InitializeAsync();
        const string token = "the admin token of this test";
        var admin = MailCloud.Admin.AdminServices.Create(fx.Account, fx.Directory, new AuthThrottle(), AdminToken.Hash(token), WebmailFixture.HostName,
            new MailCloud.Dns.DnsResolver([dns.EndPoint], TimeSpan.FromSeconds(2), attempts: 2));
        var (web, baseUrl, context, page) = await StartAsync(admin);
        try
        {
            await page.GotoAsync(baseUrl + "/admin");
            Assert.Contains("/admin/login", page.Url, StringComparison.Ordinal);
            await page.FillAsync("#token", "not the token");
            await page.ClickAsync("#token-sign-in");
            Assert.Equal("That is not the admin token.", (await page.Locator("#admin-login-error").InnerTextAsync()).Trim());
            await page.FillAsync("#token", token);
            await page.ClickAsync("#token-sign-in");
            await page.WaitForURLAsync(baseUrl + "/admin");
            Assert.Equal("reachable", (await page.Locator("#storage-health strong").InnerTextAsync()).Trim());
            await WebmailFixture.ScreenshotAsync(page, "20-admin-health");

            // A domain, and its DNS as the world sees it: DKIM missing, the rest in place.
            await page.GotoAsync(baseUrl + "/admin/domains");
            await page.FillAsync("#new-domain", "hosted.test");
            await page.ClickAsync("#add-domain");
            await page.WaitForURLAsync(new Regex("notice=added"));
            await page.ClickAsync("tr[data-domain='hosted.test'] a[href^='/admin/domain?']");
            await page.Locator("#dns-check").WaitForAsync();
            await WebmailFixture.ScreenshotAsync(page, "21-admin-dns-check");
            Assert.Equal("ok", await page.Locator("#dns-check tr[data-purpose='receive mail']").GetAttributeAsync("data-status"));
            Assert.Equal("ok", await page.Locator("#dns-check tr[data-purpose='SPF (who may send)']").GetAttributeAsync("data-status"));
            Assert.Equal("ok", await page.Locator("#dns-check tr[data-purpose='DMARC (policy)']").GetAttributeAsync("data-status"));
            var dkim = page.Locator("#dns-check tr[data-purpose='DKIM (signatures)']");
            Assert.True(await dkim.CountAsync() >= 1);
            Assert.All(await dkim.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.status)"), s => Assert.Equal("missing", s));
            Assert.Contains("v=DKIM1; k=rsa; p=", await dkim.First.Locator("td.record").Nth(1).InnerTextAsync(), StringComparison.Ordinal);

            // Users: added with a quota (the bar), password reset, a bad address refused with its reason.
            await page.GotoAsync(baseUrl + "/admin/users?domain=hosted.test");
            await page.FillAsync("#new-user", "ann@hosted.test");
            await page.FillAsync("#new-password", "first password");
            await page.FillAsync("#new-quota", "1M");
            await page.ClickAsync("#add-user");
            await page.WaitForURLAsync(new Regex("notice=added"));
            Assert.Equal(1, await page.Locator("tr[data-user='ann@hosted.test'] meter").CountAsync());
            var row = page.Locator("tr[data-user='ann@hosted.test']");
            await row.Locator("input[name=password]").FillAsync("second password");
            await row.Locator("form[action*='handler=Password'] button").ClickAsync();
            await page.WaitForURLAsync(new Regex("notice=saved"));
            Assert.NotNull(await fx.Directory.VerifyPasswordAsync("ann@hosted.test", "second password"));
            Assert.Null(await fx.Directory.VerifyPasswordAsync("ann@hosted.test", "first password"));
            Assert.Equal(1024L * 1024, (await fx.Directory.GetUserAsync(MailAddress.Parse("ann@hosted.test")))!.QuotaBytes);
            await page.FillAsync("#new-user", "not an address");
            await page.FillAsync("#new-password", "whatever password");
            await page.ClickAsync("#add-user");
            Assert.Contains("is not an address", await page.Locator("#admin-error").InnerTextAsync(), StringComparison.Ordinal);
            await WebmailFixture.ScreenshotAsync(page, "22-admin-users");

            // Aliases (one forwarding to a remote address) and a list.
            await page.GotoAsync(baseUrl + "/admin/aliases?domain=hosted.test");
            await page.FillAsync("#new-alias", "info@hosted.test");
            await page.FillAsync("#alias-targets", "ann@hosted.test, someone@remote.example");
            await page.ClickAsync("#add-alias");
            await page.WaitForURLAsync(new Regex("notice=added"));
            await page.FillAsync("#new-list", "all@hosted.test");
            await page.FillAsync("#list-members", "ann@hosted.test");
            await page.ClickAsync("#add-list");
            await page.WaitForURLAsync(new Regex("notice=added"));
            var resolved = await fx.Directory.ResolveRecipientAsync(MailAddress.Parse("info@hosted.test"));
            Assert.Equal(RecipientKind.Alias, resolved.Kind);
            Assert.Equal(RecipientKind.List, (await fx.Directory.ResolveRecipientAsync(MailAddress.Parse("all@hosted.test"))).Kind);

            // A work item that failed too often sits in inbound-poison; replayed from the page, the functions deliver it once.
            var id = MessageIds.New(DateTimeOffset.UtcNow);
            var blob = MessageIds.BlobPath(id, DateTimeOffset.UtcNow);
            var raw = Encoding.ASCII.GetBytes("From: x@remote.example\r\nTo: judy@example.test\r\nSubject: replayed from poison\r\nMessage-ID: <poison-1@remote.example>\r\n\r\nbody\r\n");
            await new BlobMessageContent(fx.Account).WriteAsync(blob, raw);
            var item = new InboundWorkItem
            {
                MessageId = id, MessageBlob = blob, Size = raw.Length,
                Envelope = new Envelope
                {
                    Sender = "x@remote.example", Recipients = [new EnvelopeRecipient("judy@example.test")], ClientAddress = "127.0.0.1", Helo = "remote.example",
                    Listener = "mx", ReceivedAt = DateTimeOffset.UtcNow,
                },
            };
            await new WorkQueues(fx.Account).EnqueueAsync(StorageNames.Poison(StorageNames.InboundQueue), item);
            await page.GotoAsync(baseUrl + "/admin/queues?queue=inbound-poison");
            Assert.Equal(1, await page.Locator("#queue-items tr", new() { HasText = id }).CountAsync());
            await WebmailFixture.ScreenshotAsync(page, "23-admin-queue");
            await page.Locator("#queue-items tr", new() { HasText = id }).Locator("button", new() { HasText = "Replay" }).ClickAsync();
            await page.WaitForURLAsync(new Regex("notice=replayed"));
            var count = await fx.ImapAsync("judy@example.test", """
                wait_for('replayed from poison')
                time.sleep(3)  # a second copy, if there were one, would have arrived by now
                m.select('INBOX')
                print(len(m.search(None, 'SUBJECT', '"replayed from poison"')[1][0].split()))
                """);
            Assert.Equal("1", count.Trim());
            Assert.Equal(0, await page.Locator("#queue-items tr", new() { HasText = id }).CountAsync());

            // The replayed message's trace: accepted, filtered, routed, indexed into judy's INBOX.
            await page.GotoAsync(baseUrl + "/admin/trace");
            await page.FillAsync("#trace-q", id);
            await page.ClickAsync("button.primary");
            var trace = page.Locator($"section.trace[data-message='{id}']");
            Assert.Equal(1, await trace.Locator("tr.stage-accepted").CountAsync());
            Assert.Contains("judy@example.test/INBOX uid", await trace.Locator("tr.stage-indexed").First.InnerTextAsync(), StringComparison.Ordinal);
            await WebmailFixture.ScreenshotAsync(page, "25-admin-trace");
            await page.GotoAsync(baseUrl + "/admin/trace?q=nobody-here@example.test");
            Assert.Contains("No trace for", await page.Locator("#admin-error").InnerTextAsync(), StringComparison.Ordinal);

            // A deferred delivery waiting for its retry, whose queue message has gone since: "Retry now" drops the stale row.
            await new ScheduledRetryStore(fx.Account).RecordAsync(new ScheduledRetry($"{id}:judy@example.test:far.test", id, StorageNames.OutboundQueue, "gone", "gone",
                DateTimeOffset.UtcNow.AddHours(1), 2, "someone@far.test", "451 4.2.0 greylisted, try again"));
            await page.GotoAsync(baseUrl + "/admin/queues");
            var waiting = page.Locator($"#retries tr[data-retry='{id}']");
            Assert.Contains("451 4.2.0 greylisted", await waiting.InnerTextAsync(), StringComparison.Ordinal);
            await WebmailFixture.ScreenshotAsync(page, "26-admin-retries");
            await waiting.Locator("button", new() { HasText = "Retry now" }).ClickAsync();
            await page.WaitForURLAsync(new Regex("notice=retried"));
            Assert.Equal(1, await page.Locator("#no-retries").CountAsync());

            // Backups: a set written now is listed with its counts.
            var (set, _) = await admin.Backups.RunAsync(new BackupRetention(), DateTimeOffset.UtcNow);
            await page.GotoAsync(baseUrl + "/admin/backups");
            var setRow = page.Locator($"#backup-sets tr[data-set='{set.Id}']");
            Assert.Contains(set.Messages.ToString(System.Globalization.CultureInfo.InvariantCulture), await setRow.InnerTextAsync(), StringComparison.Ordinal);
            await WebmailFixture.ScreenshotAsync(page, "27-admin-backups");

            // Phone width: no sideways scrolling on the users page.
            await page.SetViewportSizeAsync(390, 844);
            await page.GotoAsync(baseUrl + "/admin/users?domain=hosted.test");
            Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the users page scrolls sideways at 390 px");
            await WebmailFixture.ScreenshotAsync(page, "24-admin-phone-users");
            // Every other page too (the quarantine page in the second test).
            foreach (var (path, shot) in new[]
            {
                ($"/admin/trace?q={id}", "28-admin-phone-trace"), ("/admin/backups", "29-admin-phone-backups"), ("/admin/domain?name=hosted.test", "35-admin-phone-domain"),
                ("/admin/queues?queue=inbound-poison", "36-admin-phone-queues"), ("/admin", null), ("/admin/domains", null), ("/admin/aliases?domain=hosted.test", null),
            })
            {
                await page.GotoAsync(baseUrl + path);
                Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), $"{path} scrolls sideways at 390 px");
                if (shot is not null)
                    await WebmailFixture.ScreenshotAsync(page, shot);
            }
        }
        finally
        {
            await context.CloseAsync();
            await web.StopAsync();
            await web.DisposeAsync();
            await dns.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_domain_administrator_signs_in_with_a_password_and_sees_only_their_domain()
    {
        // delegated.test: dora becomes its administrator, dan is disabled, boss is a server administrator living there.
        await fx.Directory.AddDomainAsync("delegated.test");
        foreach (var name in new[] { "dora", "dan", "boss" })
            await fx.Directory.AddUserAsync(MailAddress.Parse($"{name}@delegated.test"), WebmailFixture.Password);
        // Two held messages: one for dora (hers to see), one for judy of example.test (not hers).
        var quarantine = new QuarantineStore(fx.Account);
        async Task<string> HoldAsync(string recipient, string subject)
        {
            var now = DateTimeOffset.UtcNow;
            var id = MessageIds.New(now);
            var blob = MessageIds.BlobPath(id, now);
            var raw = Encoding.ASCII.GetBytes($"From: spammer@remote.example\r\nTo: {recipient}\r\nSubject: {subject}\r\nMessage-ID: <{id}@remote.example>\r\n\r\nbuy now\r\n");
            await new BlobMessageContent(fx.Account).WriteAsync(blob, raw);
            await quarantine.HoldAsync(new QuarantineEntry
            {
                Id = id, Blob = blob, Size = raw.Length, Reason = "spam", Detail = "score 16.2 (builtin)", Subject = subject, From = "spammer@remote.example", Quarantined = now,
                Envelope = new Envelope { Sender = "spammer@remote.example", Recipients = [new EnvelopeRecipient(recipient)], ClientAddress = "192.0.2.9", Helo = "remote.example", Listener = "mx", ReceivedAt = now },
            });
            return id;
        }
        var dorasHeld = await HoldAsync("dora@delegated.test", "held for dora");
        var judysHeld = await HoldAsync("judy@example.test", "held for judy");

        const string token = "the admin token of the delegation test";
        var admin = MailCloud.Admin.AdminServices.Create(fx.Account, fx.Directory, new AuthThrottle(), AdminToken.Hash(token), WebmailFixture.HostName);
        var (web, baseUrl, context, page) = await StartAsync(admin);
        try
        {
            // The server administrator (token) flags dora for her domain and boss for the server.
            await page.GotoAsync(baseUrl + "/admin/login");
            await page.FillAsync("#token", token);
            await page.ClickAsync("#token-sign-in");
            await page.WaitForURLAsync(baseUrl + "/admin");
            await page.GotoAsync(baseUrl + "/admin/users?domain=delegated.test");
            foreach (var (user, role) in new[] { ("dora", "domain"), ("boss", "global") })
            {
                var row = page.Locator($"tr[data-user='{user}@delegated.test']");
                await row.Locator("select[name=role]").SelectOptionAsync(role);
                await row.Locator("form[action*='handler=Role'] button").ClickAsync();
                await page.WaitForURLAsync(new Regex("notice=saved"));
            }
            Assert.Equal(AdminRole.Domain, (await fx.Directory.GetUserAsync(MailAddress.Parse("dora@delegated.test")))!.Role);
            Assert.Equal(AdminRole.Global, (await fx.Directory.GetUserAsync(MailAddress.Parse("boss@delegated.test")))!.Role);
            await page.ClickAsync("#admin-logout");

            // dora: a wrong password and a user who is no administrator fail alike; her own password lets her in.
            await page.WaitForURLAsync(new Regex("/admin/login"));
            foreach (var (user, password) in new[] { ("dora@delegated.test", "not her password"), ("dan@delegated.test", WebmailFixture.Password) })
            {
                await page.FillAsync("#admin-user", user);
                await page.FillAsync("#admin-password", password);
                await page.ClickAsync("#account-sign-in");
                Assert.Equal("Wrong address or password, or the account is not an administrator.", (await page.Locator("#admin-login-error").InnerTextAsync()).Trim());
            }
            await WebmailFixture.ScreenshotAsync(page, "30-admin-login");
            await page.SetViewportSizeAsync(390, 844);
            Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the sign-in page scrolls sideways at 390 px");
            await page.SetViewportSizeAsync(1280, 720);
            await page.FillAsync("#admin-user", "dora@delegated.test");
            await page.FillAsync("#admin-password", WebmailFixture.Password);
            await page.ClickAsync("#account-sign-in");
            // Her start page is her domain; the server-wide pages are not in her menu.
            await page.WaitForURLAsync(new Regex("/admin/domain\\?name=delegated.test"));
            Assert.Equal("dora@delegated.test", (await page.Locator("#admin-who").InnerTextAsync()).Trim());
            Assert.Equal(0, await page.Locator("header.top a[href='/admin/queues']").CountAsync());

            // Server-wide pages and other domains are refused (403), whatever the URL says.
            foreach (var path in new[] { "/admin/queues", "/admin/trace", "/admin/backups", "/admin/users?domain=example.test", "/admin/domain?name=example.test", "/admin/aliases?domain=example.test" })
            {
                var response = await page.GotoAsync(baseUrl + path);
                Assert.True(response!.Status == 403, $"{path}: {response.Status}");
                Assert.Contains("(the domain delegated.test)", await page.Locator("#admin-denied").InnerTextAsync(), StringComparison.Ordinal);
            }
            await WebmailFixture.ScreenshotAsync(page, "31-admin-denied");
            await page.GotoAsync(baseUrl + "/admin/domains");
            Assert.Equal(["delegated.test"], await page.Locator("tr[data-domain]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.domain)"));
            Assert.Equal(0, await page.Locator("#new-domain").CountAsync());

            // On her users page: boss's account is out of her reach, and a form edited to name judy of example.test is refused.
            await page.GotoAsync(baseUrl + "/admin/users?domain=delegated.test");
            Assert.Equal(0, await page.Locator("tr[data-user='boss@delegated.test'] form").CountAsync());
            Assert.Equal(0, await page.Locator("tr[data-user='dora@delegated.test'] option[value=global]").CountAsync());
            var dansRow = page.Locator("tr[data-user='dan@delegated.test']");
            await dansRow.Locator("form[action*='handler=Password'] input[name=address]").EvaluateAsync("e => e.value = 'judy@example.test'");
            await dansRow.Locator("input[name=password]").FillAsync("taken over password");
            await dansRow.Locator("form[action*='handler=Password'] button").ClickAsync();
            Assert.Equal("judy@example.test is not in delegated.test.", (await page.Locator("#admin-error").InnerTextAsync()).Trim());
            Assert.Null(await fx.Directory.VerifyPasswordAsync("judy@example.test", "taken over password"));

            // She disables dan: IMAP refuses his password from then on (his mail still arrives).
            await page.GotoAsync(baseUrl + "/admin/users?domain=delegated.test");
            await page.Locator("tr[data-user='dan@delegated.test'] button.disable").ClickAsync();
            await page.WaitForURLAsync(new Regex("notice=saved"));
            Assert.Equal("true", await page.Locator("tr[data-user='dan@delegated.test']").GetAttributeAsync("data-disabled"));
            await WebmailFixture.ScreenshotAsync(page, "32-admin-domain-users");
            Assert.False(await WebmailFixture.ImapLoginSucceedsAsync(fx.Port("imaps"), "dan@delegated.test"));

            // Quarantine: only the message held for her domain; released, it reaches her INBOX.
            await page.GotoAsync(baseUrl + "/admin/quarantine");
            Assert.Equal([dorasHeld], await page.Locator("#quarantine tr[data-id]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.id)"));
            await WebmailFixture.ScreenshotAsync(page, "33-admin-quarantine");
            await page.SetViewportSizeAsync(390, 844);
            await page.ReloadAsync();
            Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the quarantine page scrolls sideways at 390 px");
            await WebmailFixture.ScreenshotAsync(page, "34-admin-phone-quarantine");
            await page.Locator($"#quarantine tr[data-id='{dorasHeld}'] button", new() { HasText = "Release" }).ClickAsync();
            await page.WaitForURLAsync(new Regex("notice=released"));
            Assert.Equal(1, await page.Locator("#quarantine-empty").CountAsync());
            Assert.Equal("1", (await fx.ImapAsync("dora@delegated.test", "print(len(wait_for('held for dora')))")).Trim());
            Assert.NotNull(await quarantine.GetAsync(judysHeld));

            // Taking her flag away ends her session at the next request.
            await fx.Directory.SetAdminRoleAsync(MailAddress.Parse("dora@delegated.test"), AdminRole.None);
            await page.GotoAsync(baseUrl + "/admin/users?domain=delegated.test");
            Assert.Contains("/admin/login", page.Url, StringComparison.Ordinal);
        }
        finally
        {
            await context.CloseAsync();
            await web.StopAsync();
            await web.DisposeAsync();
            if (await quarantine.GetAsync(judysHeld) is { } left)
                await quarantine.DeleteAsync(left);
        }
    }
}
