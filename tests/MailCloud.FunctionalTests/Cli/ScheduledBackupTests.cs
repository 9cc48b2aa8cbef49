using System.Globalization;
using MailCloud.Data;
using MailCloud.Storage;

namespace MailCloud.FunctionalTests.Cli;

/// <summary>
/// The automatic backup in <c>./mailcloud up</c>: mail arrives over SMTP and is filed and flagged over IMAP; the
/// timer (every 10 s here) writes a set; a second, empty <c>up</c> gets that set restored with
/// <c>./mailcloud restore --stored</c>, and Python's imaplib sees the same folders, UIDs, flags and messages in both.
/// </summary>
public sealed class ScheduledBackupTests
{
    private static string ImapView(int port) => $$"""
import imaplib, ssl, re
m = imaplib.IMAP4("127.0.0.1", {{port}}, timeout=30)
m.starttls(ssl_context=ssl._create_unverified_context())
m.login("keep@backup.test", "backup test password")
names = sorted(re.search(rb'"([^"]*)"$|(\S+)$', l).group(0).decode().strip('"') for l in m.list()[1])
for name in names:
    typ, data = m.select('"%s"' % name, readonly=True)
    uv = m.response('UIDVALIDITY')[1][0].decode()
    print("folder", name, "exists", data[0].decode(), "uidvalidity", uv)
    if int(data[0]) > 0:
        typ, rows = m.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        for r in rows:
            if isinstance(r, tuple):
                print(" ", r[0].decode().split(" ", 1)[1], r[1].decode().strip())
m.logout()
""";

    [Fact]
    public async Task A_scheduled_backup_in_up_restores_into_fresh_storage_with_the_same_mailboxes()
    {
        Assert.Equal(0, (await MailCloudToolTests.RunAsync(new Dictionary<string, string>(), null, "--help")).ExitCode); // built before timing anything
        await using var source = await UpProcess.StartAsync(new Dictionary<string, string> { ["MAILCLOUD_BACKUP_SCHEDULE"] = "*/10 * * * * *" });
        Assert.Contains("backup (timer */10 * * * * *)", source.Output, StringComparison.Ordinal);
        Assert.Equal(0, (await MailCloudToolTests.RunAsync(source.AdminEnv, null, "domain", "add", "backup.test")).ExitCode);
        Assert.Equal(0, (await MailCloudToolTests.RunAsync(source.AdminEnv, "backup test password", "user", "add", "keep@backup.test", "--password-stdin")).ExitCode);

        var smtp = source.Port("MAILCLOUD_SMTP_PORT");
        var imap = source.Port("MAILCLOUD_IMAP_PORT");
        var setup = await ExternalProcess.PythonAsync($$"""
import smtplib, imaplib, ssl, time
for i in range(3):
    with smtplib.SMTP("127.0.0.1", {{smtp}}, timeout=30) as s:
        s.sendmail("friend@elsewhere.test", ["keep@backup.test"], "From: friend@elsewhere.test\r\nTo: keep@backup.test\r\nSubject: kept %d\r\n\r\nbody %d\r\n" % (i, i))
m = imaplib.IMAP4("127.0.0.1", {{imap}}, timeout=30)
m.starttls(ssl_context=ssl._create_unverified_context())
m.login("keep@backup.test", "backup test password")
for _ in range(100):
    m.select("INBOX")
    if int(m.select("INBOX")[1][0]) == 3: break
    time.sleep(0.2)
assert int(m.select("INBOX")[1][0]) == 3, "mail did not arrive"
m.create("Archive")
m.uid("STORE", "1", "+FLAGS", "(\\Flagged $Work)")
m.uid("COPY", "2", "Archive")
m.logout()
print("ok")
""");
        Assert.True(setup.ExitCode == 0, setup.Stderr + source.Output);
        var changed = DateTimeOffset.UtcNow;

        // A set started after the last change holds all of it.
        var sets = StoredBackups.FromSettings(new StorageAccount(StorageConnection.Parse(source.ConnectionString)), new Core.MailCloudSettings(_ => null));
        BackupSetInfo? set = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (set is null && DateTime.UtcNow < deadline)
        {
            set = (await sets.ListAsync()).FirstOrDefault(s => s.Created > changed + TimeSpan.FromSeconds(1));
            if (set is null)
                await Task.Delay(500);
        }
        Assert.True(set is not null, "no scheduled backup set after the changes:\n" + source.Output);
        Assert.Equal(3, set.Messages); // the Archive copy shares its INBOX original's blob
        // The run logs its set once it has also pruned (just after the manifest appears).
        for (var logged = DateTime.UtcNow + TimeSpan.FromSeconds(10); !source.Output.Contains("backup " + set.Id, StringComparison.Ordinal) && DateTime.UtcNow < logged;)
            await Task.Delay(100);
        Assert.Contains("backup " + set.Id + ": ", source.Output, StringComparison.Ordinal);

        // The CLI lists it; another set written now copies no message again (each is stored once).
        var list = await MailCloudToolTests.RunAsync(source.AdminEnv, null, "backups");
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Contains(set.Id, list.Stdout, StringComparison.Ordinal);
        Assert.Contains("(keeping 7 daily, 4 weekly;", list.Stdout, StringComparison.Ordinal);
        var again = await MailCloudToolTests.RunAsync(source.AdminEnv, null, "backup", "--stored");
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Matches(@"3 messages \(0 new, 0 bytes\)", again.Stdout);

        var before = await ExternalProcess.PythonAsync(ImapView(imap));
        Assert.True(before.ExitCode == 0, before.Stderr);
        Assert.Matches(@"FLAGS \((\$Work \\Flagged|\\Flagged \$Work)\)", before.Stdout);
        Assert.Contains("folder Archive exists 1", before.Stdout, StringComparison.Ordinal);

        // Fresh storage behind a second up, the set restored from the first one's backup container.
        await using var target = await UpProcess.StartAsync(new Dictionary<string, string> { ["MAILCLOUD_BACKUP_SCHEDULE"] = "off" });
        Assert.Contains("backup (timer off)", target.Output, StringComparison.Ordinal);
        var restoreEnv = target.AdminEnv;
        restoreEnv["MAILCLOUD_BACKUP_STORAGE"] = source.ConnectionString;
        var restore = await MailCloudToolTests.RunAsync(restoreEnv, null, "restore", "--stored", set.Id);
        Assert.True(restore.ExitCode == 0, restore.Stderr);
        Assert.Contains($"restored set {set.Id}", restore.Stdout, StringComparison.Ordinal);
        var missing = await MailCloudToolTests.RunAsync(restoreEnv, null, "restore", "--stored", "19990101T000000Z", "--force");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no complete backup set '19990101T000000Z'", missing.Stderr, StringComparison.Ordinal);

        var after = await ExternalProcess.PythonAsync(ImapView(target.Port("MAILCLOUD_IMAP_PORT")));
        Assert.True(after.ExitCode == 0, after.Stderr + target.Output);
        Assert.Equal(before.Stdout, after.Stdout);
    }
}
