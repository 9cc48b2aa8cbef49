using System.Globalization;
using MailCloud.Core;
using MailCloud.LocalDev;

namespace MailCloud.FunctionalTests;

/// <summary>Every listener's MAILCLOUD_*_PORT set to a free port of the reserved test range (one consecutive block).</summary>
public static class ListenerPorts
{
    public static Dictionary<string, string> Assign(Dictionary<string, string> environment)
    {
        var first = AzuriteProcess.FreePorts(MailCloudSettings.Listeners.Count);
        for (int i = 0; i < MailCloudSettings.Listeners.Count; i++)
            environment[MailCloudSettings.Listeners[i].EnvironmentVariable] = (first + i).ToString(CultureInfo.InvariantCulture);
        return environment;
    }
}
