using System.Diagnostics;

namespace MailCloud.FunctionalTests;

/// <summary>Runs a real client program (python3, swaks, curl) and collects its output.</summary>
public static class ExternalProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, string? stdin = null, IDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        if (env is not null)
        {
            foreach (var (k, v) in env)
                psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
            await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish: {await stdout} {await stderr}");
        }
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a python3 script given as text; the script sees the given environment.</summary>
    public static Task<Result> PythonAsync(string script, IDictionary<string, string>? env = null, TimeSpan? timeout = null) =>
        RunAsync("python3", ["-c", script], null, env, timeout);
}
