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
    public static LocalFunctionsHost Create(StorageAccount account, Assembly functions, Action<IServiceCollection> register, string hostJson,
        Func<FunctionTrigger, bool>? include = null, Action<ILoggingBuilder>? logging = null, Action<string>? log = null)
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
        return new LocalFunctionsHost(provider, new FunctionsDriver(account, provider, QueueHostSettings.FromHostJson(hostJson), triggers, log));
    }

    public void Start() => Driver.Start();

    public async ValueTask DisposeAsync()
    {
        await Driver.DisposeAsync();
        await _services.DisposeAsync();
    }
}
