using System.Diagnostics;
using System.Text;
using MailCloud.Mime;

namespace MailCloud.Benchmarks;

/// <summary>
/// MIME parse throughput and allocations per message, beside MimeKit's <c>MimeMessage.Load</c> (the reference: the
/// library the card names) and a plain stream copy of the same bytes.
/// </summary>
internal static class MimeParseBenchmark
{
    public static void Run()
    {
        var cases = new (string Name, byte[] Message, int Iterations)[]
        {
            ("10 KiB text", TextMessage(10 * 1024), 4000),
            ("1 MiB with attachments", WithAttachments(1024 * 1024), 100),
            ("25 MiB with attachments", WithAttachments(25 * 1024 * 1024), 6),
        };
        Console.WriteLine($"MIME parse benchmark ({Environment.ProcessorCount} cores, .NET {Environment.Version})");
        Console.WriteLine("| message | MailCloud parse MB/s | allocated per message | MimeKit 4.18 MB/s | MimeKit allocated | parts | plain read + line-break count MB/s |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var (name, message, iterations) in cases)
        {
            // Warm up, then measure.
            var parsed = MimeParser.Parse(new MemoryStream(message));
            int parts = parsed.Walk().Count();
            for (int i = 0; i < Math.Min(iterations, 20); i++)
                MimeParser.Parse(new MemoryStream(message));

            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++)
                MimeParser.Parse(new MemoryStream(message, writable: false));
            sw.Stop();
            long allocated = (GC.GetAllocatedBytesForCurrentThread() - before) / iterations;
            double parseMBs = message.Length * (double)iterations / sw.Elapsed.TotalSeconds / (1024 * 1024);

            // The reference: MimeKit parsing the same bytes into its DOM (persistent = false, as from a non-seekable stream).
            for (int i = 0; i < Math.Min(iterations, 20); i++)
                MimeKit.MimeMessage.Load(new MemoryStream(message, writable: false));
            long kitBefore = GC.GetAllocatedBytesForCurrentThread();
            var kit = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++)
                MimeKit.MimeMessage.Load(new MemoryStream(message, writable: false));
            kit.Stop();
            long kitAllocated = (GC.GetAllocatedBytesForCurrentThread() - kitBefore) / iterations;
            double kitMBs = message.Length * (double)iterations / kit.Elapsed.TotalSeconds / (1024 * 1024);

            // The floor: reading the same bytes through a 64 KiB buffer and looking at each line break, nothing else.
            var buffer = new byte[64 * 1024];
            long lineBreaks = 0;
            var copy = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++)
            {
                using var s = new MemoryStream(message, writable: false);
                int n;
                while ((n = s.Read(buffer)) > 0)
                    lineBreaks += buffer.AsSpan(0, n).Count((byte)'\n');
            }
            copy.Stop();
            GC.KeepAlive(lineBreaks);
            double copyMBs = message.Length * (double)iterations / copy.Elapsed.TotalSeconds / (1024 * 1024);
            Console.WriteLine($"| {name} | {parseMBs:F0} | {allocated / 1024.0:F1} KiB | {kitMBs:F0} | {kitAllocated / 1024.0:F1} KiB | {parts} | {copyMBs:F0} |");
        }
    }

    private static byte[] TextMessage(int size)
    {
        var sb = new StringBuilder("From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?=\r\nDate: Tue, 24 Nov 2026 08:00:00 +0000\r\nMessage-ID: <b@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
        while (sb.Length < size)
            sb.Append("The quick brown fox jumps over the lazy dog, again and again, line after line.\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static byte[] WithAttachments(int size)
    {
        var random = new Random(1);
        var parts = new List<MimePart> { new TextPart("See the attached files.\n") };
        int remaining = size * 3 / 4; // base64 grows data by a third
        int n = 0;
        while (remaining > 0)
        {
            var data = new byte[Math.Min(remaining, 256 * 1024)];
            random.NextBytes(data);
            parts.Add(new BinaryPart("application/octet-stream", data, $"file{n++}.bin"));
            remaining -= data.Length;
        }
        return new MessageBuilder { Body = new Multipart("mixed", [.. parts]) }
            .Address("From", ("Alice", "alice@example.com")).Address("To", (null, "bob@example.org")).Subject("attachments").ToBytes();
    }
}
