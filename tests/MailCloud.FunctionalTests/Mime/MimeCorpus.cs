using System.Text;
using MailCloud.Mime;

namespace MailCloud.FunctionalTests.Mime;

/// <summary>Generates a varied corpus of messages (charsets, encodings, nesting, RFC 2231, encoded words) from a seed.</summary>
internal static class MimeCorpus
{
    private static readonly (string Charset, string Text)[] Texts =
    [
        ("utf-8", "Grüße, Привет, 日本語 ✉"),
        ("iso-8859-1", "Grüße aus Köln, café"),
        ("koi8-r", "Привет, мир"),
        ("shift_jis", "日本語のテキスト"),
        ("windows-1252", "naïve “quotes” €"),
        ("iso-8859-2", "Zażółć gęślą jaźń"),
        ("gb2312", "中文测试"),
        ("big5", "中文測試"),
        ("euc-kr", "한국어 텍스트"),
        ("us-ascii", "plain ascii text"),
    ];

    public static List<byte[]> Generate(int count, int seed)
    {
        var random = new Random(seed);
        var list = new List<byte[]>();
        for (int i = 0; i < count; i++)
            list.Add(Encoding.Latin1.GetBytes(Message(random, i, depth: 0)));
        return list;
    }

    public static List<byte[]> GenerateMalformed() => Malformed().ToList();

    private static string EncodedWord(Random r, string charset, string text)
    {
        var bytes = Charsets.Get(charset)!.GetBytes(text);
        if (r.Next(2) == 0)
            return $"=?{charset}?B?{Convert.ToBase64String(bytes)}?=";
        var sb = new StringBuilder($"=?{charset}?Q?");
        foreach (var b in bytes)
            sb.Append(b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' ? ((char)b).ToString() : b == ' ' ? "_" : "=" + b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        return sb.Append("?=").ToString();
    }

    private static string Message(Random r, int n, int depth)
    {
        var (cs, text) = Texts[r.Next(Texts.Length)];
        var sb = new StringBuilder();
        sb.Append("From: ").Append(r.Next(3) switch
        {
            0 => $"{EncodedWord(r, cs == "us-ascii" ? "utf-8" : cs, "Sender " + text[..Math.Min(6, text.Length)])} <sender{n}@example.com>",
            1 => $"\"Doe, Jane\" <jane{n}@example.com>",
            _ => $"plain{n}@example.com",
        }).Append("\r\n");
        sb.Append("To: a@example.org, \"B, C\" <bc@example.org>\r\n");
        sb.Append("Subject: ").Append(r.Next(3) == 0 ? $"Plain subject {n}" : $"Re: {EncodedWord(r, cs == "us-ascii" ? "utf-8" : cs, text)} #{n}").Append("\r\n");
        sb.Append("Date: Tue, 24 Nov 2026 08:00:").Append((n % 60).ToString("00", System.Globalization.CultureInfo.InvariantCulture)).Append(" +0000\r\n");
        sb.Append("Message-ID: <").Append(n).Append("@corpus.example>\r\nMIME-Version: 1.0\r\n");
        sb.Append(Part(r, n, depth));
        return sb.ToString();
    }

    private static string Part(Random r, int n, int depth)
    {
        int kind = depth >= 3 ? r.Next(3) : r.Next(6);
        switch (kind)
        {
            case 0 or 1:
                return TextPart(r);
            case 2:
                return Attachment(r);
            case 3 when depth < 2:
            {
                var inner = Message(r, n * 100 + depth, depth + 1);
                return "Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n" + inner;
            }
            default:
            {
                var subtype = new[] { "mixed", "alternative", "related" }[r.Next(3)];
                var boundary = $"=_b{depth}_{r.Next(100000)}";
                var sb = new StringBuilder($"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\nThis is a multi-part message in MIME format.\r\n");
                int parts = r.Next(1, 4);
                for (int i = 0; i < parts; i++)
                    sb.Append("--").Append(boundary).Append("\r\n").Append(Part(r, n, depth + 1)).Append("\r\n");
                sb.Append("--").Append(boundary).Append("--\r\n");
                return sb.ToString();
            }
        }
    }

    private static string TextPart(Random r)
    {
        var (cs, text) = Texts[r.Next(Texts.Length)];
        var body = $"{text}\r\nline two of {cs}\r\n";
        var raw = Charsets.Get(cs)!.GetBytes(body);
        var subtype = r.Next(4) == 0 ? "html" : "plain";
        var header = $"Content-Type: text/{subtype}; charset=\"{cs}\"\r\n";
        switch (cs == "us-ascii" ? 0 : r.Next(3))
        {
            case 0:
                return header + (cs == "us-ascii" ? "Content-Transfer-Encoding: 7bit\r\n\r\n" : "Content-Transfer-Encoding: 8bit\r\n\r\n") + Encoding.Latin1.GetString(raw);
            case 1:
                return header + "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + TransferEncoding.EncodeQuotedPrintable(raw) + "\r\n";
            default:
                return header + "Content-Transfer-Encoding: base64\r\n\r\n" + TransferEncoding.EncodeBase64(raw);
        }
    }

    private static string Attachment(Random r)
    {
        var data = new byte[r.Next(1, 3000)];
        r.NextBytes(data);
        string disposition = r.Next(3) switch
        {
            0 => "attachment; filename=\"report 2026.bin\"",
            1 => "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20%E2%9C%93.bin",
            _ => "attachment;\r\n filename*0*=utf-8''%E6%97%A5%E6%9C%AC; filename*1=\"-part.bin\"",
        };
        return $"Content-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Disposition: {disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n{TransferEncoding.EncodeBase64(data)}";
    }

    /// <summary>Hand-written damaged messages: the comparison for these is structure, not every byte.</summary>
    private static IEnumerable<byte[]> Malformed()
    {
        string[] messages =
        [
            // close boundary missing
            "Subject: unterminated\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\none\r\n--x\r\nContent-Type: text/plain\r\n\r\ntwo\r\n",
            // bare LF everywhere
            "Subject: bare lf\nContent-Type: multipart/alternative; boundary=\"y\"\n\n--y\nContent-Type: text/plain; charset=utf-8\n\nhello\n--y\nContent-Type: text/html\n\n<b>hi</b>\n--y--\n",
            // broken base64 and QP
            "Subject: broken encodings\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29y!!bGQ\r\n--z\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nsoft=\r\nbreak and =ZZ bad\r\n--z--\r\n",
            // duplicate headers and a header without a space after the colon
            "Subject: first\r\nSubject: second\r\nX-Odd:novalue\r\n\r\nbody\r\n",
            // NUL bytes in body
            "Subject: nul\r\nContent-Type: text/plain\r\n\r\nbefore\0after\r\n",
            // very long line
            "Subject: long line\r\n\r\n" + new string('x', 200_000) + "\r\n",
            // multipart without boundary parameter
            "Subject: no boundary\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nnot parsed as parts\r\n",
        ];
        foreach (var m in messages)
            yield return Encoding.Latin1.GetBytes(m);
    }
}
