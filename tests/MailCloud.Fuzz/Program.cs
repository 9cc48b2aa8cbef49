using MailCloud.FuzzTargets;
using SharpFuzz;

// MailCloud.Fuzz TARGET            run under afl-fuzz (SharpFuzz's out-of-process forkserver protocol)
// MailCloud.Fuzz TARGET --seeds D  write the target's seed inputs into D
// MailCloud.Fuzz TARGET FILE...    run inputs once each (reproduce a finding); exit 1 on the first failure
// MailCloud.Fuzz --list            the targets
if (args.Length == 0 || args[0] == "--list")
{
    foreach (var t in Targets.All)
        Console.WriteLine($"{t.Name}\t{t.Parser}");
    return 0;
}
var target = Targets.Get(args[0]);
if (args.Length >= 3 && args[1] == "--seeds")
{
    Directory.CreateDirectory(args[2]);
    for (int i = 0; i < target.Seeds.Count; i++)
        File.WriteAllBytes(Path.Combine(args[2], $"seed{i}"), target.Seeds[i]);
    return 0;
}
if (args.Length >= 2)
{
    foreach (var file in args.Skip(1))
    {
        try
        {
            target.Run(File.ReadAllBytes(file));
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"{file}: {e}");
            return 1;
        }
    }
    return 0;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target.Run(buffer.ToArray());
});
return 0;
