using Azure;
using MailCloud.Core;
using MailCloud.Storage;

namespace MailCloud.Cli;

/// <summary>Exit codes and the one-line error messages of the tool.</summary>
internal static class CliErrors
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int StorageUnreachable = 3;

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"mailcloud: error: {message}");
        return Failed;
    }

    /// <summary>Runs an action and turns known failures into one clear line and an exit code.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (DirectoryException e)
        {
            return Fail(e.Message);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"mailcloud: error: {e.Message}");
            return Usage;
        }
        catch (Exception e) when (StorageErrors.IsUnreachable(e))
        {
            var settings = new MailCloudSettings();
            var where = settings.StorageIsDefault ? "local Azurite (127.0.0.1:10000-10002)" : $"the account in {MailCloudSettings.StorageVariable}";
            Console.Error.WriteLine($"mailcloud: error: cannot reach storage at {where}. Start it with './mailcloud up' (or set {MailCloudSettings.StorageVariable}).");
            return StorageUnreachable;
        }
        catch (RequestFailedException e)
        {
            return Fail($"storage request failed: {e.Message}");
        }
        catch (OperationCanceledException)
        {
            return Fail("cancelled");
        }
    }
}
