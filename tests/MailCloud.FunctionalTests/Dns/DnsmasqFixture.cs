using System.Diagnostics;
using System.Net;
using MailCloud.LocalDev;

namespace MailCloud.FunctionalTests.Dns;

/// <summary>
/// A real DNS server (dnsmasq from Debian's dnsmasq-base) on 127.0.0.1 at a free port, authoritative-ish for
/// remote.test: MX preferences, A fallback, NXDOMAIN, null MX, TXT, a TXT set too big for UDP, an IDN name.
/// </summary>
public sealed class DnsmasqFixture : IAsyncLifetime
{
    private Process? _process;

    /// <summary>More records as dnsmasq options (a test's own zone data).</summary>
    public IReadOnlyList<string> ExtraRecords { get; init; } = [];

    public int Port { get; } = AzuriteProcess.FreePort();
    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary>Extra records a test class wants, as dnsmasq options.</summary>
    public static readonly string[] Records =
    [
        "--local=/remote.test/",
        "--mx-host=remote.test,mx2.remote.test,20",
        "--mx-host=remote.test,mx1.remote.test,10",
        "--host-record=mx1.remote.test,127.0.0.3",
        "--host-record=mx2.remote.test,127.0.0.4",
        "--host-record=nomx.remote.test,127.0.0.5",
        "--host-record=xn--bcher-kva.remote.test,127.0.0.6",
        "--mx-host=nullmx.remote.test,.,0",
        "--txt-record=remote.test,v=spf1 ip4:127.0.0.0/8 -all",
        // DANE for mx1 (usage 3, selector 1, SHA-256) and reverse DNS for its address.
        "--dns-rr=_25._tcp.mx1.remote.test,52,030101" + new string('a', 64),
        "--ptr-record=3.0.0.127.in-addr.arpa,mx1.remote.test",
        // Deferring and rejecting peers for delivery tests, and a domain whose only MX is down.
        "--mx-host=defer.test,mx.defer.test,10", "--host-record=mx.defer.test,127.0.0.7", "--local=/defer.test/",
        "--mx-host=down.test,mx.down.test,10", "--host-record=mx.down.test,127.0.0.8", "--local=/down.test/",
        "--mx-host=chunky.test,mx.chunky.test,10", "--host-record=mx.chunky.test,127.0.0.11", "--local=/chunky.test/",
    ];

    public async Task InitializeAsync()
    {
        var args = new List<string> { "-k", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", $"--port={Port}", "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root", "--local-ttl=300" };
        args.AddRange(Records);
        args.AddRange(ExtraRecords);
        for (int i = 0; i < 8; i++)
            args.Add($"--txt-record=big.remote.test,{new string((char)('a' + i), 250)}");
        var psi = new ProcessStartInfo(File.Exists("/usr/sbin/dnsmasq") ? "/usr/sbin/dnsmasq" : "dnsmasq") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        // Ready when it answers over TCP (it listens on both).
        for (int i = 0; i < 100; i++)
        {
            try
            {
                using var tcp = new System.Net.Sockets.TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                if (_process.HasExited)
                    throw new InvalidOperationException("dnsmasq exited: " + await _process.StandardError.ReadToEndAsync());
                await Task.Delay(50);
            }
        }
        throw new TimeoutException("dnsmasq did not start");
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
    }
}
