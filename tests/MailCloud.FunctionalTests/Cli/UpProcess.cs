using System.Diagnostics;
using System.Globalization;
using System.Text;
using MailCloud.LocalDev;

namespace MailCloud.FunctionalTests.Cli;

/// <summary>
/// <c>./mailcloud up</c> as a user runs it: its own data folder and Azurite, every listener on a free port, extra
/// MAILCLOUD_* settings; ready when it prints "MailCloud is up"; stopped with SIGTERM.
/// </summary>
internal sealed class UpProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _data;

    public Dictionary<string, string> Environment { get; }
    public int StoragePort { get; }

    /// <summary>What the admin commands need to reach this instance's storage.</summary>
    public Dictionary<string, string> AdminEnv => new() { ["MAILCLOUD_STORAGE"] = ConnectionString };

    public string ConnectionString =>
        $"AccountName=devstoreaccount1;AccountKey={MailCloud.Storage.StorageConnection.DevelopmentAccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{StoragePort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{StoragePort + 1}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{StoragePort + 2}/devstoreaccount1";

    public int Port(string variable) => int.Parse(Environment[variable], CultureInfo.InvariantCulture);

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    private UpProcess(Process process, string data, Dictionary<string, string> environment, int storagePort)
    {
        _process = process;
        _data = data;
        Environment = environment;
        StoragePort = storagePort;
    }

    public static async Task<UpProcess> StartAsync(IDictionary<string, string>? settings = null)
    {
        var data = Path.Combine(Path.GetTempPath(), "mailcloud-up-" + Guid.NewGuid().ToString("N"));
        int storagePort = AzuriteProcess.FreePorts(3);
        var env = ListenerPorts.Assign(new Dictionary<string, string>());
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
            env[k] = v;
        var psi = new ProcessStartInfo(Path.Combine(MailCloudToolTests.RepoRoot(), "mailcloud")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "up", "--data", data, "--storage-port", storagePort.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        psi.Environment.Remove("MAILCLOUD_STORAGE");
        foreach (var (k, v) in env)
            psi.Environment[k] = v;
        var up = new UpProcess(Process.Start(psi)!, data, env, storagePort);
        var ready = new TaskCompletionSource();
        up._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (up._output)
                up._output.AppendLine(e.Data);
            if (e.Data.Contains("MailCloud is up", StringComparison.Ordinal))
                ready.TrySetResult();
        };
        up._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (up._output) up._output.AppendLine(e.Data); };
        up._process.BeginOutputReadLine();
        up._process.BeginErrorReadLine();
        if (await Task.WhenAny(ready.Task, Task.Delay(TimeSpan.FromMinutes(4))) != ready.Task)
        {
            await up.DisposeAsync();
            throw new TimeoutException($"./mailcloud up was not up (exited: {up._process.HasExited}); it printed:\n{up.Output}");
        }
        return up;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
                await kill!.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
        try { Directory.Delete(_data, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
