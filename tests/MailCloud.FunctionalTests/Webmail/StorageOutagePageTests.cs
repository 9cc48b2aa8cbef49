using System.Net;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.FunctionalTests.Storage;
using MailCloud.LocalDev;
using MailCloud.Protocols;
using MailCloud.Storage;
using MailCloud.Web;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace MailCloud.FunctionalTests.Webmail;

/// <summary>
/// Storage failing under signed-in web sessions: the webmail and the admin UI (a domain administrator's password
/// session, whose every request reads her directory row) answer 503 with Retry-After and a page saying nothing was
/// lost — not a 500 — and both sessions go on once storage answers again. Storage is the real Azurite behind a proxy
/// that answers 503 ServerBusy without forwarding (<see cref="FaultProxy"/>), in a real browser.
/// </summary>
[Collection(WebmailCollection.Name)]
public sealed class StorageOutagePageTests(WebmailFixture fx)
{
    [Fact]
    public async Task Webmail_and_admin_pages_answer_503_while_storage_fails_and_work_again_after()
    {
        var plan = new FaultPlan();
        var proxies = new List<FaultProxy>();
        foreach (var port in new[] { fx.Azurite.BlobPort, fx.Azurite.QueuePort, fx.Azurite.TablePort })
            proxies.Add(await FaultProxy.StartAsync(port, plan));
        var options = new StorageClientOptions();
        options.Retry.Delay = TimeSpan.FromMilliseconds(20);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(100);
        var account = new StorageAccount(StorageConnection.Development("127.0.0.1", proxies[0].Port, proxies[1].Port, proxies[2].Port), options);
        var directory = StorageProvisioner.Directory(account);
        var domain = AzuriteFixture.UniqueName("outage") + ".test";
        await directory.AddDomainAsync(domain);
        var olga = MailAddress.Parse("olga@" + domain);
        await directory.AddUserAsync(olga, WebmailFixture.Password);
        await directory.SetAdminRoleAsync(olga, AdminRole.Domain);

        var throttle = new AuthThrottle();
        var webmail = MailCloud.Webmail.WebmailServices.Create(account, directory, throttle, new MailboxChangeHub(), new MailCloud.Webmail.WebmailOptions { HostName = WebmailFixture.HostName });
        var admin = MailCloud.Admin.AdminServices.Create(account, directory, throttle, tokenSha256: null, WebmailFixture.HostName);
        int webPort = AzuriteProcess.FreePort();
        var web = WebHost.Build(new IPEndPoint(IPAddress.Loopback, webPort), new ClientEndpoints(WebmailFixture.HostName, 1, 2, 3, 4, 5), account,
            l => l.SetMinimumLevel(LogLevel.Warning), throttle: throttle, webmail: webmail, admin: admin);
        await web.StartAsync();
        var baseUrl = $"http://127.0.0.1:{webPort}";
        var context = await fx.Browser.NewContextAsync();
        try
        {
            var page = await context.NewPageAsync();
            page.SetDefaultTimeout(20_000);
            await page.GotoAsync(baseUrl + "/mail");
            await page.FillAsync("input[name=user]", olga.Address);
            await page.FillAsync("input[name=password]", WebmailFixture.Password);
            await page.ClickAsync("button[type=submit]");
            await page.WaitForURLAsync(baseUrl + "/mail");
            // The admin UI in the same host as the webmail (as ./mailcloud up runs them): its form posts carry the
            // antiforgery cookie too (the webmail's /mail cookie path once made them fail with 400).
            await page.GotoAsync(baseUrl + "/admin/login");
            await page.FillAsync("#admin-user", olga.Address);
            await page.FillAsync("#admin-password", WebmailFixture.Password);
            await page.ClickAsync("#account-sign-in");
            await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/admin/domain"));

            plan.FailBefore = 1.0;
            foreach (var (path, shot) in new[] { ("/mail", "40-webmail-storage-down"), ($"/admin/domain?name={domain}", "41-admin-storage-down") })
            {
                var response = await page.GotoAsync(baseUrl + path);
                Assert.Equal(503, response!.Status);
                Assert.Equal("5", await response.HeaderValueAsync("retry-after"));
                Assert.Contains("Nothing was lost", await page.InnerTextAsync("body"), StringComparison.Ordinal);
                await WebmailFixture.ScreenshotAsync(page, shot);
            }
            Assert.True(plan.FailedBefore > 0);

            plan.Heal();
            var mail = await page.GotoAsync(baseUrl + "/mail");
            Assert.Equal(200, mail!.Status);
            Assert.EndsWith("/mail", page.Url, StringComparison.Ordinal); // still signed in, not sent to the login page
            var adminPage = await page.GotoAsync($"{baseUrl}/admin/domain?name={domain}");
            Assert.Equal(200, adminPage!.Status);
            Assert.Equal(olga.Address, (await page.Locator("#admin-who").InnerTextAsync()).Trim());
        }
        finally
        {
            await context.CloseAsync();
            await web.DisposeAsync();
            foreach (var proxy in proxies)
                await proxy.DisposeAsync();
        }
    }
}
