using System.Diagnostics;
using System.Text;
using MailCloud.Mime;

namespace MailCloud.FunctionalTests.Mime;

/// <summary>Random mutations of corpus messages: parsing and every view of the result must neither throw nor hang.</summary>
public sealed class MimeFuzzTests
{
    private static readonly byte[][] Inserts =
    [
        "\r\n--"u8.ToArray(), "--\r\n"u8.ToArray(), "\r\n\r\n"u8.ToArray(), "\n"u8.ToArray(), "\0"u8.ToArray(), "=?"u8.ToArray(), "?="u8.ToArray(),
        "Content-Type: multipart/mixed; boundary=\"\"\r\n"u8.ToArray(), "Content-Type: message/rfc822\r\n\r\n"u8.ToArray(),
        "; filename*0*=utf-8''%E6; filename*5=x"u8.ToArray(), "(((((("u8.ToArray(), "\"unterminated"u8.ToArray(), "=\r\n"u8.ToArray(), "<@a,@b:"u8.ToArray(),
    ];

    private static byte[] Mutate(byte[] input, Random r)
    {
        var bytes = new List<byte>(input);
        int edits = r.Next(1, 12);
        for (int i = 0; i < edits && bytes.Count > 0; i++)
        {
            int at = r.Next(bytes.Count);
            switch (r.Next(6))
            {
                case 0:
                    bytes[at] = (byte)r.Next(256);
                    break;
                case 1:
                    bytes.RemoveRange(at, Math.Min(r.Next(1, 200), bytes.Count - at));
                    break;
                case 2:
                    bytes.InsertRange(at, Inserts[r.Next(Inserts.Length)]);
                    break;
                case 3:
                    int len = Math.Min(r.Next(1, 400), bytes.Count - at);
                    bytes.InsertRange(r.Next(bytes.Count), bytes.GetRange(at, len));
                    break;
                case 4:
                    bytes.RemoveAll(b => b == (byte)'\r');
                    break;
                default:
                    bytes.RemoveRange(at, bytes.Count - at); // truncate
                    break;
            }
        }
        return [.. bytes];
    }

    [Fact]
    public void Mutated_messages_parse_without_exceptions_within_a_fixed_time()
    {
        var corpus = MimeCorpus.Generate(40, seed: 7).Concat(MimeCorpus.GenerateMalformed()).ToList();
        var random = new Random(424242);
        int runs = 0;
        var slowest = TimeSpan.Zero;
        foreach (var message in corpus)
        {
            for (int i = 0; i < 40; i++)
            {
                var mutated = Mutate(message, random);
                var sw = Stopwatch.StartNew();
                var m = MimeParser.Parse(mutated);
                foreach (var e in m.Walk())
                {
                    _ = e.Subject;
                    _ = e.From;
                    _ = e.Date;
                    _ = e.FileName;
                    Assert.InRange(e.BodyStart, e.HeaderStart, e.End);
                    Assert.InRange(e.End, 0, mutated.Length);
                    if (e.Children.Count == 0 && e.Message is null)
                        _ = e.GetText(mutated);
                }
                _ = ImapViews.BodyStructure(m);
                _ = ImapViews.Envelope(m);
                _ = ImapViews.Resolve(m, "1.2.MIME");
                _ = ImapViews.Resolve(m, "HEADER.FIELDS (From Subject)");
                sw.Stop();
                slowest = sw.Elapsed > slowest ? sw.Elapsed : slowest;
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"message took {sw.Elapsed} to parse: {Encoding.Latin1.GetString(mutated)[..Math.Min(200, mutated.Length)]}");
                runs++;
            }
        }
        Assert.True(runs >= 1500, $"{runs} runs");
    }
}
