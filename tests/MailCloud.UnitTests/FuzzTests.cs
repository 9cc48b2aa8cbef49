using MailCloud.FuzzTargets;

namespace MailCloud.UnitTests;

/// <summary>
/// The fuzz targets of tests/fuzz/run.sh without afl: every crash or hang afl++ ever found (FuzzFindings/TARGET/)
/// replays here, and each parser gets a few thousand mutated inputs per run so a regression shows in the suite.
/// </summary>
public sealed class FuzzTests
{
    private static readonly string FindingsRoot = Path.Combine(AppContext.BaseDirectory, "FuzzFindings");

    public static TheoryData<string> TargetNames()
    {
        var data = new TheoryData<string>();
        foreach (var t in Targets.All)
            data.Add(t.Name);
        return data;
    }

    public static TheoryData<string, string> Findings()
    {
        var data = new TheoryData<string, string>();
        if (Directory.Exists(FindingsRoot))
        {
            foreach (var dir in Directory.GetDirectories(FindingsRoot).Order(StringComparer.Ordinal))
            {
                foreach (var file in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
                    data.Add(Path.GetFileName(dir), Path.GetFileName(file));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Findings))]
    public void An_input_afl_once_broke_a_parser_with_now_passes(string target, string file) =>
        RunBounded(Targets.Get(target), File.ReadAllBytes(Path.Combine(FindingsRoot, target, file)));

    [Fact]
    public void Every_finding_belongs_to_a_target()
    {
        if (!Directory.Exists(FindingsRoot))
            return;
        var names = Targets.All.Select(t => t.Name).ToHashSet();
        Assert.All(Directory.GetDirectories(FindingsRoot), d => Assert.Contains(Path.GetFileName(d), names));
    }

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Seeds_pass_and_mutated_inputs_never_break_the_parser(string name)
    {
        var target = Targets.Get(name);
        Assert.NotEmpty(target.Seeds);
        foreach (var seed in target.Seeds)
            target.Run(seed);
        var random = new Random(name.Aggregate(17, (h, c) => h * 31 + c));
        for (int i = 0; i < 3000; i++)
        {
            var input = Mutator.Next(random, target.Seeds);
            try
            {
                RunBounded(target, input);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"{name} failed on input #{i} (base64 {Convert.ToBase64String(input)}): {e}");
            }
        }
    }

    /// <summary>Runs one input; a run that does not end within 10 s is a hang (afl's own limit is 5 s per execution).</summary>
    private static void RunBounded(FuzzTarget target, byte[] input)
    {
        var run = Task.Run(() => target.Run(input));
        if (!run.Wait(TimeSpan.FromSeconds(10)))
            throw new TimeoutException($"{target.Name} did not finish within 10 s");
    }
}

/// <summary>afl-style mutations of seed inputs (bit flips, inserted protocol tokens, deletions, splices, random bytes).</summary>
internal static class Mutator
{
    private static readonly byte[][] Tokens =
    [
        "\r\n"u8.ToArray(), "\n"u8.ToArray(), "\r"u8.ToArray(), "\0"u8.ToArray(), "."u8.ToArray(), "\r\n.\r\n"u8.ToArray(), "{5}\r\n"u8.ToArray(), "{99999999999}\r\n"u8.ToArray(),
        "~{3+}"u8.ToArray(), "("u8.ToArray(), ")"u8.ToArray(), "\""u8.ToArray(), "\\"u8.ToArray(), "<"u8.ToArray(), ">"u8.ToArray(), "@"u8.ToArray(), ":"u8.ToArray(), ";"u8.ToArray(), "="u8.ToArray(),
        "=?utf-8?b?"u8.ToArray(), "?="u8.ToArray(), "%{"u8.ToArray(), "}"u8.ToArray(), "/"u8.ToArray(), "//"u8.ToArray(), "--b1"u8.ToArray(), "--b1--"u8.ToArray(),
        "boundary="u8.ToArray(), "Content-Type: multipart/mixed; boundary=x\r\n"u8.ToArray(), "*"u8.ToArray(), ","u8.ToArray(), "4294967295"u8.ToArray(), "-1"u8.ToArray(), "\xff\xfe"u8.ToArray(),
        [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98, 0x80],
    ];

    public static byte[] Next(Random random, IReadOnlyList<byte[]> seeds)
    {
        if (random.Next(20) == 0)
        {
            var noise = new byte[random.Next(0, 300)];
            random.NextBytes(noise);
            return noise;
        }
        var data = new List<byte>(seeds[random.Next(seeds.Count)]);
        int rounds = 1 + random.Next(8);
        for (int r = 0; r < rounds; r++)
        {
            int at = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (random.Next(6))
            {
                case 0 when data.Count > 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    data.InsertRange(at, Tokens[random.Next(Tokens.Length)]);
                    break;
                case 2 when data.Count > 0:
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(16)));
                    break;
                case 3:
                    var other = seeds[random.Next(seeds.Count)];
                    if (other.Length > 0)
                    {
                        int from = random.Next(other.Length);
                        data.InsertRange(at, other.Skip(from).Take(1 + random.Next(64)));
                    }
                    break;
                case 4 when data.Count > 0:
                    data[at] = (byte)random.Next(256);
                    break;
                default:
                    if (data.Count > 0 && data.Count < 20_000)
                        data.InsertRange(at, data.GetRange(at, Math.Min(data.Count - at, 1 + random.Next(32)))); // repeat a run
                    break;
            }
        }
        return data.ToArray();
    }
}
