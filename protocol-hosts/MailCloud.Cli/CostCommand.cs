using System.CommandLine;

namespace MailCloud.Cli;

/// <summary><c>cost</c>: the monthly Azure cost of a deployment for a domain of a given size, line by line.</summary>
internal static class CostCommand
{
    public static Command Create()
    {
        var d = DomainSize.Default;
        var users = new Option<int>("--users") { Description = "Mailbox users", DefaultValueFactory = _ => d.Users };
        var inbound = new Option<int>("--in-per-day") { Description = "Messages received a day", DefaultValueFactory = _ => d.InPerDay };
        var outbound = new Option<int>("--out-per-day") { Description = "Messages sent a day", DefaultValueFactory = _ => d.OutPerDay };
        var stored = new Option<double>("--stored-gb") { Description = "Mail stored, in GB", DefaultValueFactory = _ => d.StoredGb };
        var size = new Option<int>("--message-kib") { Description = "Average message size in KiB", DefaultValueFactory = _ => d.AverageKib };
        var active = new Option<double>("--active-share") { Description = "Share of the time the front end works (billed at the active rate), 0 to 1", DefaultValueFactory = _ => d.ActiveShare };
        var noRegistry = new Option<bool>("--no-registry") { Description = "The image is in a registry elsewhere (no Container Registry)" };
        var command = new Command("cost", "Estimate the monthly Azure cost at list prices for a domain of the given size (defaults: a 10-user domain).")
        {
            users, inbound, outbound, stored, size, active, noRegistry,
        };
        command.SetAction(p =>
        {
            var size2 = new DomainSize(p.GetValue(users), p.GetValue(inbound), p.GetValue(outbound), p.GetValue(stored), p.GetValue(size), p.GetValue(active), !p.GetValue(noRegistry), d.FrontEndVcpu, d.FrontEndGib);
            if (size2.Users < 0 || size2.InPerDay < 0 || size2.OutPerDay < 0 || size2.StoredGb < 0 || size2.AverageKib <= 0 || size2.ActiveShare is < 0 or > 1)
                return CliErrors.Fail("cost: counts must be positive and --active-share between 0 and 1");
            Console.Write(CostModel.Format(size2, CostModel.Estimate(size2)));
            return CliErrors.Ok;
        });
        return command;
    }
}
