using System.Text.Json;
using MailCloud.LocalDev;

namespace MailCloud.FunctionalTests.Smtp;

/// <summary>Its own server and Azurite, because these tests stop the storage and the server on purpose.</summary>
public sealed class StorageFailureFixture : SmtpFixture
{
    public StorageFailureFixture() => Options.CommandTimeout = TimeSpan.FromSeconds(2);
}

public sealed class SmtpStorageFailureTests(StorageFailureFixture smtp) : IClassFixture<StorageFailureFixture>
{
    private const string SendScript = """
s = smtplib.SMTP("127.0.0.1", MX, timeout=60)
s.ehlo("sender.example")
s.mail("carol@remote.example")
s.rcpt("alice@example.test")
code, resp = s.data(b"Subject: during outage\r\n\r\nbody\r\n")
out(code=code, resp=text(resp))
s.quit()
""";

    private async Task<(int Code, string Reply)> SendAsync()
    {
        var r = await ExternalProcess.PythonAsync(PythonClients.Prelude + "\n" + SendScript, smtp.Env, TimeSpan.FromSeconds(90));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var e = JsonDocument.Parse(r.Stdout.Trim()).RootElement;
        return (e.GetProperty("code").GetInt32(), e.GetProperty("resp").GetString()!);
    }

    [Fact]
    public async Task Storage_down_gives_451_and_accepting_resumes_when_it_is_back()
    {
        var (code, _) = await SendAsync(); // also warms the directory cache, as a running server would have it
        Assert.Equal(250, code);
        await smtp.Inbound.ClearMessagesAsync();

        var blobPort = smtp.Azurite.BlobPort;
        var queuePort = smtp.Azurite.QueuePort;
        var tablePort = smtp.Azurite.TablePort;
        await smtp.Azurite.StopAsync();

        var (downCode, downReply) = await SendAsync();
        Assert.Equal(451, downCode);
        Assert.StartsWith("4.3.0", downReply, StringComparison.Ordinal);

        // Same data folder and ports: as if the storage came back.
        await smtp.RestartAzuriteAsync(blobPort, queuePort, tablePort);
        var (upCode, upReply) = await SendAsync();
        Assert.Equal(250, upCode);

        // Nothing from the failed attempt reached the pipeline: exactly one work item, the one after recovery.
        var items = (await smtp.Inbound.PeekMessagesAsync(32)).Value;
        var only = Assert.Single(items);
        Assert.Contains(upReply.Split(' ')[^1], only.Body.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Idle_client_gets_421_after_the_command_timeout()
    {
        var r = await ExternalProcess.PythonAsync(PythonClients.Prelude + "\n" + """
c = Raw(MX)
c.cmd("EHLO slow.example")
time.sleep(3)
out(reply=c.reply())
c.close()
""", smtp.Env);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.StartsWith("421 4.4.2", JsonDocument.Parse(r.Stdout.Trim()).RootElement.GetProperty("reply").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shutdown_lets_a_transaction_in_flight_finish_then_says_421()
    {
        var psi = new System.Diagnostics.ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(PythonClients.Prelude + "\n" + """
c = Raw(MX)
c.cmd("EHLO inflight.example")
c.cmd("MAIL FROM:<carol@remote.example>")
c.cmd("RCPT TO:<alice@example.test>")
c.cmd("DATA")
c.send("Subject: in flight\r\n\r\nfirst half\r\n")
out(step="ready")
time.sleep(1.5)   # the server is told to stop meanwhile
c.send("second half\r\n.\r\n")
out(step="end", reply=c.reply())
out(step="next", reply=c.reply())
c.close()
""");
        foreach (var (k, v) in smtp.Env)
            psi.Environment[k] = v;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var first = await p.StandardOutput.ReadLineAsync();
        Assert.Contains("ready", first, StringComparison.Ordinal);
        var stopping = smtp.StopServerAsync();
        var rest = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        await stopping;
        try
        {
            var lines = rest.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.StartsWith("250 2.0.0", lines[0].GetProperty("reply").GetString(), StringComparison.Ordinal);
            Assert.StartsWith("421 4.3.2", lines[1].GetProperty("reply").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await smtp.StartServerAsync();
        }
    }
}
