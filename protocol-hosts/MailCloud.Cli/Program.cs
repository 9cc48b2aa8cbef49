using System.CommandLine;
using MailCloud.Cli;

// The `mailcloud` tool. Every command returns 0 on success; errors print one line on stderr and return non-zero.
var root = new RootCommand("MailCloud: run the mail server locally and administer domains, users and aliases.");
root.Subcommands.Add(UpCommand.Create());
root.Subcommands.Add(AdminCommands.Domain());
root.Subcommands.Add(AdminCommands.User());
root.Subcommands.Add(AdminCommands.Alias());
root.Subcommands.Add(AdminCommands.MailingList());
root.Subcommands.Add(AdminCommands.Dkim());
root.Subcommands.Add(AdminCommands.AdminToken());
root.Subcommands.Add(SpamCommands.Quarantine());
root.Subcommands.Add(CostCommand.Create());
root.Subcommands.Add(FunctionsCommand.Create());
root.Subcommands.Add(FunctionsCommand.Housekeeping());
root.Subcommands.Add(FunctionsCommand.Reindex());
root.Subcommands.Add(QueueCommands.Create());
root.Subcommands.Add(TraceCommand.Create());
foreach (var command in BackupCommands.Create())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
