using System.Security.Cryptography;
using System.Text.Json;
using MailCloud.Mime;

namespace MailCloud.FunctionalTests.Mime;

/// <summary>
/// Our parser against python3's email package (policy=default) on a generated corpus and on damaged messages:
/// content types, parameters, decoded headers, addresses, file names, decoded bodies and part counts must agree.
/// </summary>
public sealed class PythonOracleTests
{
    private const string Script = """
import email, email.policy, json, sys, os, hashlib
d = sys.argv[1]
out = []
for name in sorted(os.listdir(d), key=lambda n: int(n.split('.')[0])):
    data = open(os.path.join(d, name), 'rb').read()
    msg = email.message_from_bytes(data, policy=email.policy.default)
    parts = []
    for p in msg.walk():
        info = {"type": p.get_content_type()}
        ct = p.get('content-type')
        info["params"] = {k.lower(): str(v) for k, v in ct.params.items()} if ct is not None and hasattr(ct, 'params') else {}
        if not p.is_multipart():
            payload = p.get_payload(decode=True) or b""
            info["sha"] = hashlib.sha256(payload).hexdigest()
            if p.get_content_maintype() == 'text':
                try: info["text"] = p.get_content()
                except Exception: info["text"] = None
        info["filename"] = p.get_filename()
        parts.append(info)
    try:
        frm = [[a.display_name, a.addr_spec] for a in msg['from'].addresses] if msg['from'] is not None else []
    except Exception:
        frm = None
    out.append({"name": name, "subject": str(msg['subject']) if msg['subject'] is not None else None, "from": frm, "parts": parts})
print(json.dumps(out))
""";

    private static async Task<List<JsonElement>> OracleAsync(List<byte[]> corpus)
    {
        var dir = Path.Combine(Path.GetTempPath(), "mailcloud-oracle-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            for (int i = 0; i < corpus.Count; i++)
                await File.WriteAllBytesAsync(Path.Combine(dir, $"{i}.eml"), corpus[i]);
            var r = await ExternalProcess.RunAsync("python3", ["-c", Script, dir]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            return JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().ToList();
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Generated_corpus_agrees_with_python_email()
    {
        var corpus = MimeCorpus.Generate(120, seed: 20261124);
        var oracle = await OracleAsync(corpus);
        int partsCompared = 0, textsCompared = 0;
        for (int i = 0; i < corpus.Count; i++)
        {
            var src = corpus[i];
            var expected = oracle[i];
            var m = MimeParser.Parse(src);
            var context = $"message {i}";

            Assert.Equal(expected.GetProperty("subject").GetString(), m.Subject);
            var from = expected.GetProperty("from").EnumerateArray().Select(a => (a[0].GetString() ?? "", a[1].GetString())).ToList();
            Assert.Equal(from, m.From.OfType<MailboxAddress>().Select(a => (a.Name ?? "", (string?)a.Address)).ToList());

            var ours = m.Walk().ToList();
            var theirs = expected.GetProperty("parts").EnumerateArray().ToList();
            Assert.True(theirs.Count == ours.Count, $"{context}: {theirs.Count} parts in python, {ours.Count} here");
            for (int p = 0; p < ours.Count; p++)
            {
                var e = ours[p];
                var t = theirs[p];
                Assert.Equal(t.GetProperty("type").GetString(), e.ContentType.Value);
                foreach (var param in t.GetProperty("params").EnumerateObject())
                    Assert.True(param.Value.GetString() == e.ContentType[param.Name], $"{context} part {p}: {param.Name}='{param.Value}' vs '{e.ContentType[param.Name]}'");
                Assert.Equal(t.GetProperty("filename").GetString(), e.FileName);
                if (t.TryGetProperty("sha", out var sha) && e.Message is null && e.Children.Count == 0)
                {
                    Assert.True(sha.GetString() == Convert.ToHexStringLower(SHA256.HashData(e.DecodeBody(src))), $"{context} part {p}: decoded body differs");
                    partsCompared++;
                }
                if (t.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                {
                    Assert.Equal(text.GetString(), e.GetText(src));
                    textsCompared++;
                }
            }
        }
        Assert.True(partsCompared > 150 && textsCompared > 80, $"compared {partsCompared} bodies and {textsCompared} texts");
    }

    [Fact]
    public async Task Damaged_messages_get_the_same_structure_as_python_email()
    {
        var corpus = MimeCorpus.GenerateMalformed();
        var oracle = await OracleAsync(corpus);
        for (int i = 0; i < corpus.Count; i++)
        {
            var m = MimeParser.Parse(corpus[i]);
            var theirs = oracle[i].GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("type").GetString()).ToList();
            var ours = m.Walk().Select(e => e.ContentType.Value).ToList();
            Assert.True(theirs.SequenceEqual(ours), $"message {i}: python [{string.Join(", ", theirs)}] vs ours [{string.Join(", ", ours)}]");
            Assert.Equal(oracle[i].GetProperty("subject").GetString(), m.Subject);
        }
    }
}
