using System.Net;
using System.Net.Sockets;
using MailCloud.Filtering;

namespace MailCloud.FunctionalTests.Content;

/// <summary>
/// Engines that do not answer: a port that refuses, and a peer that accepts and then says nothing (a hung engine).
/// Each must end in <see cref="EngineUnavailableException"/> within the configured timeout, which the inbound stage
/// turns into a delayed retry. Real sockets; the hung peer is a listener of the test's because a real daemon cannot
/// be made to hang on cue.
/// </summary>
public sealed class EngineFailureTests
{
    private static readonly RspamdEnvelope Envelope = new("203.0.113.1", "x.test", "a@x.test", ["b@y.test"], null, "q1", "mx.test");

    private static MemoryStream Message() => new("Subject: x\r\n\r\nbody\r\n"u8.ToArray());

    [Fact]
    public async Task A_refused_engine_is_unavailable_at_once()
    {
        int port = LocalDev.AzuriteProcess.FreePort();
        var rspamd = new RspamdClient(new HttpClient { Timeout = TimeSpan.FromSeconds(5) }, new Uri($"http://127.0.0.1:{port}/"), new Uri($"http://127.0.0.1:{port}/"));
        await Assert.ThrowsAsync<EngineUnavailableException>(() => rspamd.CheckAsync(Message(), 20, Envelope, default));
        await Assert.ThrowsAsync<EngineUnavailableException>(() => rspamd.LearnAsync(Message(), 20, spam: true, default));
        Assert.False(await rspamd.PingAsync(default));
        var clamd = new ClamdClient(new IPEndPoint(IPAddress.Loopback, port), timeout: TimeSpan.FromSeconds(5));
        await Assert.ThrowsAsync<EngineUnavailableException>(() => clamd.ScanAsync(Message(), default));
        Assert.False(await clamd.PingAsync(default));
    }

    [Fact]
    public async Task A_hung_engine_times_out()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var held = new List<Socket>();
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                    held.Add(await listener.AcceptSocketAsync(stop.Token)); // read nothing, answer nothing
            }
            catch (OperationCanceledException)
            {
            }
        });
        try
        {
            var started = DateTime.UtcNow;
            var rspamd = new RspamdClient(new HttpClient { Timeout = TimeSpan.FromSeconds(1) }, new Uri($"http://127.0.0.1:{port}/"));
            var e = await Assert.ThrowsAsync<EngineUnavailableException>(() => rspamd.CheckAsync(Message(), 20, Envelope, default));
            Assert.Equal("rspamd", e.Engine);
            var clamd = new ClamdClient(new IPEndPoint(IPAddress.Loopback, port), timeout: TimeSpan.FromSeconds(1));
            var c = await Assert.ThrowsAsync<EngineUnavailableException>(() => clamd.ScanAsync(Message(), default));
            Assert.Contains("no answer within 1 s", c.Message, StringComparison.Ordinal);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
        }
        finally
        {
            await stop.CancelAsync();
            await accepting;
            foreach (var s in held)
                s.Dispose();
        }
    }
}
