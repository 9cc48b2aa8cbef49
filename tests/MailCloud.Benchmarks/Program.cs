using MailCloud.Benchmarks;

// Usage: MailCloud.Benchmarks smtp --smtp-source PATH [--messages N] | mime
if (args.Length >= 1 && args[0] == "smtp")
{
    string? smtpSource = null;
    int messages = 1000;
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--smtp-source")
            smtpSource = args[++i];
        else if (args[i] == "--messages")
            messages = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    }
    if (smtpSource is null)
    {
        Console.Error.WriteLine("--smtp-source PATH is required (tests/bench/smtp-accept.sh fetches it)");
        return 2;
    }
    await SmtpAcceptBenchmark.RunAsync(smtpSource, messages);
    return 0;
}
if (args.Length >= 2 && args[0] == "pipeline")
{
    // pipeline REPO [MESSAGES] [--rspamd URL] [--clamd HOST:PORT]
    var rest = args.Skip(2).ToList();
    string? Option(string name) => rest.IndexOf(name) is var i and >= 0 && i + 1 < rest.Count ? rest[i + 1] : null;
    var count = rest.Count > 0 && !rest[0].StartsWith("--", StringComparison.Ordinal) ? int.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture) : 200;
    await PipelineLatencyBenchmark.RunAsync(args[1], count, Option("--rspamd") is { } url ? new Uri(url) : null, Option("--clamd"));
    return 0;
}
if (args.Length >= 1 && args[0] == "imap")
{
    await ImapBenchmark.RunAsync(args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000,
        args.Length >= 3 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1000);
    return 0;
}
if (args.Length >= 1 && args[0] == "idle-push")
{
    await ImapBenchmark.PushLatencyAsync(args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 50);
    return 0;
}
if (args.Length >= 1 && args[0] == "scaling")
{
    var sizes = args.Length >= 2 ? args[1].Split(',').Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToList() : [100, 10_000, 100_000];
    await ScalingBenchmark.RunAsync(sizes);
    return 0;
}
if (args.Length >= 1 && args[0] == "webmail")
{
    await WebmailBenchmark.RunAsync(args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000);
    return 0;
}
if (args.Length >= 1 && args[0] == "mime")
{
    MimeParseBenchmark.Run();
    return 0;
}
Console.Error.WriteLine("usage: MailCloud.Benchmarks smtp --smtp-source PATH [--messages N] | mime | pipeline REPO [MESSAGES] [--rspamd URL] [--clamd HOST:PORT] | imap [MESSAGES] [IDLE-CLIENTS] | scaling [SIZES] | idle-push [MESSAGES] | webmail [MESSAGES]");
return 2;
