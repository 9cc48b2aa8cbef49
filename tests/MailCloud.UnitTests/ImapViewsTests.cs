using System.Text;
using MailCloud.Mime;

namespace MailCloud.UnitTests;

public sealed class ImapViewsTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s.ReplaceLineEndings("\r\n"));

    private const string Simple = """
Date: Tue, 24 Nov 2026 08:00:00 +0000
From: Alice Example <alice@example.com>
To: bob@example.org, Team: carol@example.org;
Subject: =?utf-8?Q?caf=C3=A9?=
Message-ID: <1@example.com>
In-Reply-To: <0@example.com>

Hello
world
""";

    [Fact]
    public void Envelope_follows_rfc3501_defaults_and_groups()
    {
        var m = MimeParser.Parse(B(Simple));
        Assert.Equal(
            "(\"Tue, 24 Nov 2026 08:00:00 +0000\" \"=?utf-8?Q?caf=C3=A9?=\" " +
            "((\"Alice Example\" NIL \"alice\" \"example.com\")) " + // from
            "((\"Alice Example\" NIL \"alice\" \"example.com\")) " + // sender defaults to from
            "((\"Alice Example\" NIL \"alice\" \"example.com\")) " + // reply-to defaults to from
            "((NIL NIL \"bob\" \"example.org\")(NIL NIL \"Team\" NIL)(NIL NIL \"carol\" \"example.org\")(NIL NIL NIL NIL)) " +
            "NIL NIL \"<0@example.com>\" \"<1@example.com>\")",
            ImapViews.Envelope(m));
    }

    [Fact]
    public void Envelope_takes_empty_sender_from_from_keeps_routes_merges_repeated_fields_and_marks_missing_domains()
    {
        var m = MimeParser.Parse(B("""
Date: Thu, 15 Feb 2007 01:02:03 +0200
From: <@route:user@domain>
Sender:
Reply-To:
To: a@x.example
To: b@y.example
Cc: nodomain

body
"""));
        Assert.Equal(
            "(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL " +
            "((NIL \"@route\" \"user\" \"domain\")) ((NIL \"@route\" \"user\" \"domain\")) ((NIL \"@route\" \"user\" \"domain\")) " +
            "((NIL NIL \"a\" \"x.example\")(NIL NIL \"b\" \"y.example\")) " +
            "((NIL NIL \"nodomain\" \"MISSING_DOMAIN\")) NIL NIL NIL)",
            ImapViews.Envelope(m));
    }

    [Fact]
    public void Rfc2231_parameters_are_passed_on_as_written()
    {
        // As Dovecot 2.3 does (checked side by side): no decoded 8-bit text reaches an IMAP4rev1 client.
        var m = MimeParser.Parse(B("""
Content-Type: text/plain; name*=utf-8''r%C3%A9sum%C3%A9.txt

x
"""));
        Assert.Contains("(\"NAME*\" \"utf-8''r%C3%A9sum%C3%A9.txt\" \"CHARSET\" \"us-ascii\")", ImapViews.BodyStructure(m), StringComparison.Ordinal);
        Assert.Equal("résumé.txt", m.ContentType["name"]); // decoded where MailCloud itself reads it
    }

    [Fact]
    public void A_multipart_whose_boundary_never_occurs_is_still_a_multipart()
    {
        var m = MimeParser.Parse(B("""
Content-Type: multipart/mixed; boundary="nowhere"

just text
"""));
        var structure = ImapViews.BodyStructure(m);
        Assert.StartsWith("((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)", structure, StringComparison.Ordinal);
        Assert.Contains(" \"MIXED\" (\"BOUNDARY\" \"nowhere\") NIL NIL NIL)", structure, StringComparison.Ordinal);
        Assert.StartsWith("((\"TEXT\" \"PLAIN\"", ImapViews.Body(m), StringComparison.Ordinal);
    }

    [Fact]
    public void Bodystructure_of_plain_message_has_defaults_and_lines()
    {
        var m = MimeParser.Parse(B(Simple));
        Assert.Equal("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 12 1 NIL NIL NIL NIL)", ImapViews.BodyStructure(m)); // "Hello\r\nworld": one line break, as Dovecot counts
        Assert.Equal("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 12 1)", ImapViews.Body(m));
    }

    private const string Nested = """
From: a@example.com
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset=utf-8

plain
--b2
Content-Type: text/html; charset=utf-8
Content-Language: en, de

<p>html</p>
--b2--
--b1
Content-Type: image/png; name="x.png"
Content-Disposition: attachment; filename="x.png"
Content-Transfer-Encoding: base64
Content-ID: <img1>

iVBORw0KGgo=
--b1
Content-Type: message/rfc822

From: inner@example.com
Subject: inner

inner text
--b1--
""";

    [Fact]
    public void Bodystructure_of_nested_multipart_and_message_rfc822()
    {
        var src = B(Nested);
        var m = MimeParser.Parse(src);
        var bs = ImapViews.BodyStructure(m);
        Assert.StartsWith("(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 5 0 NIL NIL NIL NIL)", bs, StringComparison.Ordinal);
        Assert.Contains("(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 11 0 NIL NIL (\"en\" \"de\") NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"b2\") NIL NIL NIL)", bs, StringComparison.Ordinal);
        Assert.Contains("(\"IMAGE\" \"PNG\" (\"NAME\" \"x.png\") \"<img1>\" NIL \"BASE64\" 12 NIL (\"ATTACHMENT\" (\"FILENAME\" \"x.png\")) NIL NIL)", bs, StringComparison.Ordinal);
        Assert.Contains("(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" ", bs, StringComparison.Ordinal);
        Assert.Contains("(NIL \"inner\" ((NIL NIL \"inner\" \"example.com\"))", bs, StringComparison.Ordinal);
        Assert.EndsWith(" \"MIXED\" (\"BOUNDARY\" \"b1\") NIL NIL NIL)", bs, StringComparison.Ordinal);
        Assert.Equal(bs.Count(c => c == '('), bs.Count(c => c == ')'));
    }

    [Theory]
    [InlineData("1.1", "plain")]
    [InlineData("1.2", "<p>html</p>")]
    [InlineData("2", "iVBORw0KGgo=")]
    [InlineData("3.TEXT", "inner text")] // the line break before a boundary belongs to the boundary
    [InlineData("3.1", "inner text")]
    [InlineData("3.HEADER", "From: inner@example.com\r\nSubject: inner\r\n\r\n")]
    [InlineData("2.MIME", "Content-Type: image/png; name=\"x.png\"\r\nContent-Disposition: attachment; filename=\"x.png\"\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <img1>\r\n\r\n")]
    [InlineData("HEADER.FIELDS (FROM)", "From: a@example.com\r\n\r\n")]
    [InlineData("3.HEADER.FIELDS.NOT (From)", "Subject: inner\r\n\r\n")]
    public void Sections_resolve_to_exact_bytes(string section, string expected)
    {
        var src = B(Nested);
        var m = MimeParser.Parse(src);
        var s = ImapViews.Resolve(m, section);
        Assert.NotNull(s);
        var bytes = s.Extract(src.AsSpan((int)s.Offset, (int)s.Length));
        Assert.Equal(expected, Encoding.UTF8.GetString(bytes));
    }

    [Theory]
    [InlineData("4")]
    [InlineData("1.3")]
    [InlineData("1.1.HEADER")]
    [InlineData("0")]
    public void Missing_sections_are_null(string section) => Assert.Null(ImapViews.Resolve(MimeParser.Parse(B(Nested)), section));

    [Fact]
    public void Single_part_message_part_one_is_the_body()
    {
        var src = B(Simple);
        var s = ImapViews.Resolve(MimeParser.Parse(src), "1")!;
        Assert.Equal("Hello\r\nworld", Encoding.ASCII.GetString(src, (int)s.Offset, (int)s.Length));
        var text = ImapViews.Resolve(MimeParser.Parse(src), "TEXT")!;
        Assert.Equal(s.Offset, text.Offset);
    }

    [Fact]
    public void Strings_with_8bit_or_line_breaks_become_literals()
    {
        var sb = new StringBuilder();
        ImapViews.NString(sb, "Grüße");
        Assert.Equal("{7}\r\nGrüße", sb.ToString());
        sb.Clear();
        ImapViews.NString(sb, "say \"hi\"");
        Assert.Equal("\"say \\\"hi\\\"\"", sb.ToString());
    }
}
