using System.Reflection;
using MailCloud.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailCloud.LocalDev;

/// <summary>
/// The functions app as <c>./mailcloud up</c> and the tests run it: the worker's own service registrations in a
/// service provider, and the <see cref="FunctionsDriver"/> over the app's <c>[Function]</c> methods with host.json's
/// queue settings. Knows nothing of the functions project itself: the composition root passes its assembly and
/// registrations in.
/// </summary>
public sealed class LocalFunctionsHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private LocalFunctionsHost(ServiceProvider services, FunctionsDriver driver)
    {
        _services = services;
        Driver = driver;
    }

    public FunctionsDriver Driver { get; }
    public IServiceProvider Services => _services;

    /// <param name="include">Which of the discovered functions run (all by default).</param>
    /// <param name="lease">How long a running message stays hidden (<see cref="QueueHostSettings.Lease"/>; 5 minutes by default).</param>
    public static LocalFunctionsHost Create(StorageAccount account, Assembly functions, Action<IServiceCollection> register, string hostJson,
        Func<FunctionTrigger, bool>? include = null, Action<ILoggingBuilder>? logging = null, Action<string>? log = null, TimeSpan? lease = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            if (logging is null)
                b.AddFilter(_ => false);
            else
                logging(b);
        });
        register(services);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        var triggers = FunctionsDriver.Discover(functions).Where(t => include?.Invoke(t) ?? true).ToList();
        var settings = QueueHostSettings.FromHostJson(hostJson);
        if (lease is { } l)
            settings = settings with { Lease = l };
        return new LocalFunctionsHost(provider, new FunctionsDriver(account, provider, settings, triggers, log));
    }

    public void Start() => Driver.Start();

    public async ValueTask DisposeAsync()
    {
        await Driver.DisposeAsync();
        await _services.DisposeAsync();
    }
}
