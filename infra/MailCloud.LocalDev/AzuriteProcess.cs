using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MailCloud.Storage;

namespace MailCloud.LocalDev;

/// <summary>
/// Runs Azurite from the repository's pinned npm package (node_modules/azurite) with its data in a folder.
/// Used by <c>./mailcloud up</c> and by the functional test fixtures (on free ports, so both can run at once).
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private AzuriteProcess(Process process, string host, int blobPort, int queuePort, int tablePort)
    {
        _process = process;
        Host = host;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    public string Host { get; }
    public int BlobPort { get; }
    public int QueuePort { get; }
    public int TablePort { get; }
    public bool HasExited => _process.HasExited;

    /// <summary>The node process, for a benchmark that signals its preloaded seeder.</summary>
    public int ProcessId => _process.Id;

    public StorageConnection Connection => StorageConnection.Development(Host, BlobPort, QueuePort, TablePort);

    /// <summary>A connection string for other processes (the CLI, hosts) to reach this instance.</summary>
    public string ConnectionString => StorageConnection.DevelopmentConnectionString(Host, BlobPort, QueuePort, TablePort);

    /// <summary>Walks up from <paramref name="start"/> to the folder holding node_modules/azurite.</summary>
    public static string FindAzuriteScript(string? start = null)
    {
        var dir = new DirectoryInfo(start ?? AppContext.BaseDirectory);
        for (; dir is not null; dir = dir.Parent)
        {
            var script = Path.Combine(dir.FullName, "node_modules", "azurite", "dist", "src", "azurite.js");
            if (File.Exists(script))
                return script;
        }
        throw new FileNotFoundException("Azurite is not installed: run 'npm ci' in the repository root (./mailcloud does this for you).");
    }

    private static readonly HashSet<(string, int)> HandedOut = [];

    /// <summary>
    /// A port free now on <paramref name="host"/>, for a server started a little later. Taken below Linux's ephemeral
    /// range (32768–60999): a port from that range can be claimed meanwhile as the local end of any outgoing
    /// connection on the machine, which made a test host fail to bind now and then. Never the same one twice per process.
    /// </summary>
    public static int FreePort(string host = "127.0.0.1") => FreePorts(1, host);

    /// <summary><paramref name="count"/> consecutive free ports (Azurite's blob, queue, table), the first returned; see <see cref="FreePort"/>.</summary>
    public static int FreePorts(int count, string host = "127.0.0.1")
    {
        var address = IPAddress.Parse(host);
        lock (HandedOut)
        {
            for (int attempt = 0; attempt < 500; attempt++)
            {
                int start = Random.Shared.Next(20_000, 32_000 - count);
                if (Enumerable.Range(start, count).Any(p => HandedOut.Contains((host, p))) || !Enumerable.Range(start, count).All(p => CanBind(address, p)))
                    continue;
                foreach (var p in Enumerable.Range(start, count))
                    HandedOut.Add((host, p));
                return start;
            }
        }
        throw new InvalidOperationException($"no {count} free consecutive port(s) on {host} between 20000 and 32000");
    }

    private static bool CanBind(IPAddress address, int port)
    {
        try
        {
            using var l = new TcpListener(address, port);
            l.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Starts Azurite and waits until all three services accept connections.</summary>
    public static async Task<AzuriteProcess> StartAsync(string dataDirectory, string host = "127.0.0.1", int? blobPort = null, int? queuePort = null, int? tablePort = null, string? repoRoot = null,
        bool inMemory = false, CancellationToken cancellationToken = default)
    {
        var script = FindAzuriteScript(repoRoot);
        Directory.CreateDirectory(dataDirectory);
        int bp = blobPort ?? FreePort(host), qp = queuePort ?? FreePort(host), tp = tablePort ?? FreePort(host);
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     script, "--silent", "--skipApiVersionCheck", "--disableProductStyleUrl",
                     "--blobHost", host, "--blobPort", bp.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--queueHost", host, "--queuePort", qp.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--tableHost", host, "--tablePort", tp.ToString(System.Globalization.CultureInfo.InvariantCulture),
                 })
        {
            psi.ArgumentList.Add(a);
        }
        // Benchmarks of large tables run in memory: Azurite's disk persistence rewrites the whole table file as it grows.
        foreach (var a in inMemory ? ["--inMemoryPersistence"] : new[] { "--location", dataDirectory })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("Could not start node for Azurite.");
        var azurite = new AzuriteProcess(process, host, bp, qp, tp);
        process.OutputDataReceived += (_, e) => azurite.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => azurite.Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        foreach (var port in new[] { bp, qp, tp })
        {
            while (!await CanConnectAsync(host, port, cancellationToken))
            {
                if (process.HasExited)
                    throw new InvalidOperationException($"Azurite exited with code {process.ExitCode}: {azurite.Output()}");
                if (DateTime.UtcNow > deadline)
                {
                    await azurite.DisposeAsync();
                    throw new TimeoutException($"Azurite did not listen on {host}:{port} within 30 s: {azurite.Output()}");
                }
                await Task.Delay(100, cancellationToken);
            }
        }
        return azurite;
    }

    private void Capture(string? line)
    {
        if (line is null)
            return;
        lock (_output)
        {
            if (_output.Count < 200)
                _output.Add(line);
        }
    }

    public string Output()
    {
        lock (_output)
            return string.Join('\n', _output);
    }

    private static async Task<bool> CanConnectAsync(string host, int port, CancellationToken ct)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(host, port, ct);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Stops Azurite (SIGTERM first so it flushes its data files, then kill).</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
            return;
        try
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await term!.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }
}
