using System.Text;
using MailCloud.Mime;

namespace MailCloud.UnitTests;

public sealed class MimeTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s.ReplaceLineEndings("\r\n"));

    private const string Multipart = """
From: "Doe, John" <john@example.com>
To: alice@example.org, Team: bob@example.org, carol@example.org;
Subject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?= and =?iso-8859-1?B?4A==?=
Date: Tue, 24 Nov 2026 08:00:00 +0100
Message-ID: <m1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hall=C3=B6 Welt
second line
--outer
Content-Type: application/pdf; name*=utf-8''r%C3%A9sum%C3%A9.pdf
Content-Disposition: attachment; filename*0="long"; filename*1="name.pdf"
Content-Transfer-Encoding: base64

SGVsbG8=
--outer
Content-Type: message/rfc822

Subject: inner
From: x@y.example

inner body
--outer--
epilogue
""";

    [Fact]
    public void Parses_multipart_tree_with_offsets_that_slice_the_source()
    {
        var src = B(Multipart);
        var m = MimeParser.Parse(src);
        Assert.Equal("multipart/mixed", m.ContentType.Value);
        Assert.Equal(3, m.Children.Count);
        Assert.Equal("Grüße and à", m.Subject);
        Assert.Equal("Hallö Welt\r\nsecond line", m.Children[0].GetText(src));
        Assert.Equal("Hello", Encoding.ASCII.GetString(m.Children[1].DecodeBody(src)));
        Assert.Equal("longname.pdf", m.Children[1].FileName);
        Assert.Equal("résumé.pdf", m.Children[1].ContentType["name"]);
        var inner = m.Children[2].Message!;
        Assert.Equal("inner", inner.Subject);
        Assert.Equal("inner body", Encoding.ASCII.GetString(inner.RawBody(src)));
        // Header offsets: the whole header block of a part ends at its body.
        var part = m.Children[0];
        var mimeHeader = Encoding.ASCII.GetString(src, (int)part.HeaderStart, (int)part.HeaderLength);
        Assert.StartsWith("Content-Type: text/plain", mimeHeader, StringComparison.Ordinal);
        Assert.EndsWith("quoted-printable\r\n\r\n", mimeHeader, StringComparison.Ordinal);
        Assert.Equal(src.Length, m.End);
        Assert.Equal(1, part.BodyLines); // line breaks in the body; the one before the boundary is the boundary's (as Dovecot counts)
        Assert.Equal(5, m.Walk().Count()); // root, three parts, the enclosed message
    }

    [Fact]
    public void Addresses_groups_comments_and_obsolete_forms()
    {
        var list = AddressParser.ParseList("\"Doe, John\" <john@example.com>, Team: bob@example.org, carol@example.org;, mary@example.net (Mary Smith), <@route.example:old@example.com>, =?utf-8?B?w4lsb2RpZQ==?= <elodie@example.fr>, \"quoted local\"@example.com");
        Assert.Equal(6, list.Count);
        var john = Assert.IsType<MailboxAddress>(list[0]);
        Assert.Equal(("Doe, John", "john@example.com"), (john.Name, john.Address));
        var team = Assert.IsType<GroupAddress>(list[1]);
        Assert.Equal("Team", team.Name);
        Assert.Equal(["bob@example.org", "carol@example.org"], team.Members.Select(x => x.Address));
        Assert.Equal(("Mary Smith", "mary@example.net"), (((MailboxAddress)list[2]).Name, ((MailboxAddress)list[2]).Address));
        Assert.Equal("old@example.com", ((MailboxAddress)list[3]).Address);
        Assert.Equal("Élodie", ((MailboxAddress)list[4]).Name);
        Assert.Equal("quoted local", ((MailboxAddress)list[5]).LocalPart);
        Assert.Equal("\"quoted local\"@example.com", ((MailboxAddress)list[5]).Address);
        Assert.Empty(AddressParser.ParseList("undisclosed-recipients:;").OfType<MailboxAddress>());
    }

    [Theory]
    [InlineData("Tue, 24 Nov 2026 08:00:00 +0100", "2026-11-24T08:00:00+01:00")]
    [InlineData("24 Nov 2026 08:00 GMT", "2026-11-24T08:00:00+00:00")]
    [InlineData("Tue, 24 Nov 26 08:00:00 EST", "2026-11-24T08:00:00-05:00")]
    [InlineData("Tue,  4 Nov 1999 08:00:00 -0000 (GMT)", "1999-11-04T08:00:00+00:00")]
    [InlineData("Mon, 1 Jan 101 00:00:00 +0000", "2001-01-01T00:00:00+00:00")]
    [InlineData("Wed, 31 Feb 2024 10:00:00 +0000", "2024-02-29T10:00:00+00:00")]
    public void Dates_in_real_world_forms(string text, string expected)
    {
        Assert.True(DateParser.TryParse(text, out var d));
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), d);
    }

    [Fact]
    public void Garbage_dates_are_refused() => Assert.False(DateParser.TryParse("yesterday at noon", out _));

    [Fact]
    public void Encoded_words_join_adjacent_and_keep_plain_text()
    {
        Assert.Equal("a b", EncodedWords.Decode("=?utf-8?q?a?= =?utf-8?q?_b?="));
        Assert.Equal("x y", EncodedWords.Decode("x =?utf-8?q?y?="));
        // A multi-byte character split across two base64 words.
        Assert.Equal("€", EncodedWords.Decode("=?utf-8?B?4oI=?= =?utf-8?B?rA==?="));
        Assert.Equal("Кириллица", EncodedWords.Decode("=?koi8-r?B?68nSyczMyfvh?=".Replace("68nSyczMyfvh", Convert.ToBase64String(Encoding.GetEncoding("koi8-r").GetBytes("Кириллица")), StringComparison.Ordinal)));
        Assert.Equal("=?bogus", EncodedWords.Decode("=?bogus"));
        Assert.Equal("日本語", EncodedWords.Decode(EncodedWords.Encode("日本語")));
    }

    [Fact]
    public void Content_type_parameters_with_rfc2231_continuations_and_comments()
    {
        var ct = HeaderParameters.Parse("text/plain (comment); charset = \"utf-8\"; title*0*=us-ascii'en'This%20is; title*1*=%20it; format=flowed", "text/plain");
        Assert.Equal("text/plain", ct.Value);
        Assert.Equal("utf-8", ct["charset"]);
        Assert.Equal("This is it", ct["title"]);
        Assert.Equal("flowed", ct["FORMAT"]);
        Assert.Equal("text/plain", HeaderParameters.Parse(null, "text/plain").Value);
    }

    [Fact]
    public void Defaults_when_content_type_is_absent_or_broken()
    {
        var m = MimeParser.Parse("Subject: x\r\n\r\nbody\r\n");
        Assert.Equal("text/plain", m.ContentType.Value);
        Assert.Equal("us-ascii", m.Charset);
        var broken = MimeParser.Parse("Content-Type: garbage\r\n\r\nbody\r\n");
        Assert.Equal("text/plain", broken.ContentType.Value);
        var digest = MimeParser.Parse("Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: in digest\r\n\r\nx\r\n--d--\r\n");
        Assert.Equal("message/rfc822", digest.Children[0].ContentType.Value);
        Assert.Equal("in digest", digest.Children[0].Message!.Subject);
    }

    [Fact]
    public void Transfer_decoding_tolerates_damage()
    {
        Assert.Equal("Hello", Encoding.ASCII.GetString(TransferEncoding.DecodeBase64("SGV s\r\nbG8=!!"u8)));
        Assert.Equal("a=b c", Encoding.ASCII.GetString(TransferEncoding.DecodeQuotedPrintable("a=3Db=\r\n c"u8)));
        Assert.Equal("bad=ZZ", Encoding.ASCII.GetString(TransferEncoding.DecodeQuotedPrintable("bad=ZZ"u8)));
        Assert.Equal("end", Encoding.ASCII.GetString(TransferEncoding.DecodeQuotedPrintable("end="u8)));
        // RFC 2045 6.7 rule 3: literal whitespace at a line's end goes; encoded ("=20") and soft-broken whitespace stays.
        Assert.Equal("hello\r\na \r\nb \tc\r\nend", Encoding.ASCII.GetString(TransferEncoding.DecodeQuotedPrintable("hello  \r\na=20\r\nb \t=\r\nc\r\nend  "u8)));
    }

    [Fact]
    public void Malformed_structures_yield_best_effort_trees()
    {
        // Missing close boundary, bare LF, NUL, garbage before headers, unterminated header section.
        var m = MimeParser.Parse(Encoding.Latin1.GetBytes("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nfirst\0part\n--b\n\nsecond"));
        Assert.Equal(2, m.Children.Count);
        Assert.Equal("first\0part", Encoding.Latin1.GetString(m.Children[0].RawBody(Encoding.Latin1.GetBytes("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nfirst\0part\n--b\n\nsecond"))));
        var noBoundary = MimeParser.Parse("Content-Type: multipart/mixed\r\n\r\nno parts here\r\n");
        Assert.Empty(noBoundary.Children);
        var garbage = MimeParser.Parse("this is not a header\r\nSubject: x\r\n\r\nbody");
        Assert.Empty(garbage.Headers);
        Assert.Equal(0, garbage.BodyStart);
        var headersOnly = MimeParser.Parse("Subject: only headers");
        Assert.Equal("only headers", headersOnly.Subject);
        var wrongBoundary = MimeParser.Parse("Content-Type: multipart/alternative; boundary=x\r\n\r\n--y\r\nnot a part\r\n");
        Assert.Empty(wrongBoundary.Children);
    }

    [Fact]
    public void Nesting_depth_is_limited()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 200; i++)
            sb.Append("Content-Type: multipart/mixed; boundary=b").Append(i).Append("\r\n\r\n--b").Append(i).Append("\r\n");
        sb.Append("\r\nleaf\r\n");
        var m = MimeParser.Parse(sb.ToString());
        int depth = 0;
        for (var e = m; e.Children.Count > 0; e = e.Children[0])
            depth++;
        Assert.Equal(new MimeParserOptions().MaxDepth, depth);
    }

    [Fact]
    public void Raw_utf8_headers_are_read_as_utf8()
    {
        var m = MimeParser.Parse(Encoding.UTF8.GetBytes("Subject: Grüße ✉\r\nFrom: Jörg <jörg@exämple.de>\r\n\r\nx"));
        Assert.Equal("Grüße ✉", m.Subject);
        var from = Assert.IsType<MailboxAddress>(m.From[0]);
        Assert.Equal(("Jörg", "jörg", "exämple.de"), (from.Name, from.LocalPart, from.Domain));
        var latin = MimeParser.Parse(Encoding.Latin1.GetBytes("Subject: caf\u00e9\r\n\r\nx"));
        Assert.Equal("café", latin.Subject);
    }
}
