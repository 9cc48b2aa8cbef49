using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.LocalDev;
using MailCloud.Mime;
using MailCloud.Protocols;
using MailCloud.Web;
using MailCloud.Webmail;
using Microsoft.Extensions.Logging;

namespace MailCloud.Benchmarks;

/// <summary>
/// Webmail pages on a large INBOX: the web front end with the webmail over Azurite (on disk, as <c>./mailcloud up</c>
/// runs it), one user whose INBOX is seeded with N messages straight into the table, a signed-in HTTP client.
/// Per page: the server time the response reports (Server-Timing), the wall time and the storage requests
/// (request counter), cold (first request after start) and warm (median of 20).
/// </summary>
internal static class WebmailBenchmark
{
    public static async Task RunAsync(int messages)
    {
        await using var env = await BenchEnvironment.StartAsync();
        var account = env.Account;
        var user = MailAddress.Parse("alice@example.test");
        await new MailboxStore(account).EnsureDefaultFoldersAsync(user);
        var sw = Stopwatch.StartNew();
        var subjects = new[] { "Quarterly figures", "Lunch on Friday", "Re: Budget 2027", "Invoice 4711", "Holiday plans", "Server maintenance" };
        await ScalingBenchmark.SeedAsync(account.Tables.GetTableClient(StorageNames.MailboxTable), user, 0, messages, [], uid =>
        {
            var subject = $"{subjects[uid % subjects.Length]} #{uid}";
            var bytes = Encoding.ASCII.GetBytes($"From: Sender {uid % 97} <s{uid % 97}@remote.example>\r\nTo: alice@example.test\r\nSubject: {subject}\r\nMessage-ID: <m{uid}@remote.example>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nbody {uid}\r\n");
            return MailboxWriter.SummaryProperties(MessageSummary.Of(MimeParser.Parse(bytes, new MimeParserOptions { KeepRootHeaderUpTo = MessageSummary.MaxStoredHeader })));
        });
        Console.WriteLine($"Webmail benchmark: INBOX of {messages:N0} messages (seeded in {sw.Elapsed.TotalSeconds:F0} s), Azurite on disk, {Environment.ProcessorCount} cores");

        int port = AzuriteProcess.FreePort();
        var directory = StorageProvisioner.Directory(account);
        var webmail = WebmailServices.Create(account, directory, new AuthThrottle(), new MailboxChangeHub(), new WebmailOptions { HostName = "bench.example.test" });
        await using var app = WebHost.Build(new IPEndPoint(IPAddress.Loopback, port), new ClientEndpoints("bench.example.test", 1, 2, 3, 4, 5), account, l => l.SetMinimumLevel(LogLevel.Warning), webmail: webmail);
        await app.StartAsync();
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var login = await http.GetStringAsync("/mail/login");
        var token = Regex.Match(login, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;
        var signedIn = await http.PostAsync("/mail/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["user"] = user.Address, ["password"] = "benchmark password", ["__RequestVerificationToken"] = token }));
        if (signedIn.StatusCode != HttpStatusCode.Redirect)
            throw new InvalidOperationException($"sign-in failed: {signedIn.StatusCode}");

        // Warm the process (JIT, Razor, the sign-in check) on another folder, so "cold" means this folder was never read.
        for (int i = 0; i < 5; i++)
            await TimeAsync(account, http, "/mail?folder=Sent");
        Console.WriteLine($"  {"page",-44} {"cold ms",8} {"cold req",9} {"warm ms",8} {"warm req",9}  (server time; cold = first read of the folder by this host, warm = median of 20)");
        await Row(account, http, "INBOX first page (newest 50)", "/mail?folder=INBOX");
        await Row(account, http, "INBOX page 100 (messages 4,951-5,000)", "/mail?folder=INBOX&p=99");
        await Row(account, http, "INBOX sorted by subject", "/mail?folder=INBOX&sort=subject&dir=asc");
        await Row(account, http, "INBOX search: subject \"invoice\"", "/mail?folder=INBOX&subject=invoice");
        await Row(account, http, "INBOX conversations view", "/mail?folder=INBOX&threads=true");
        await Row(account, http, "folder list (Folders page)", "/mail/folders");
        await app.StopAsync();
    }

    private static async Task Row(MailCloud.Storage.StorageAccount account, HttpClient http, string name, string path)
    {
        var (coldMs, coldRequests) = await TimeAsync(account, http, path);
        var warm = new List<(double Ms, long Requests)>();
        for (int i = 0; i < 20; i++)
            warm.Add(await TimeAsync(account, http, path));
        var ms = warm.Select(w => w.Ms).Order().ToList();
        var requests = warm.Select(w => w.Requests).Order().ToList();
        Console.WriteLine($"  {name,-44} {coldMs,8:F1} {coldRequests,9} {ms[ms.Count / 2],8:F1} {requests[requests.Count / 2],9}");
    }

    private static async Task<(double Ms, long Requests)> TimeAsync(MailCloud.Storage.StorageAccount account, HttpClient http, string path)
    {
        account.RequestCounter.Reset();
        var response = await http.GetAsync(path);
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync();
        var timing = response.Headers.GetValues("Server-Timing").Single();
        var ms = double.Parse(Regex.Match(timing, @"dur=([\d.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
        return (ms, account.RequestCounter.Total);
    }
}
