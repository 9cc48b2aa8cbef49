using System.Buffers;
using System.Text;
using MailCloud.Imap;
using MailCloud.Mime;

namespace MailCloud.UnitTests;

/// <summary>The IMAP framer and parsers on bytes: literals, brackets, sequence sets, SEARCH and FETCH grammars, and garbage.</summary>
public sealed class ImapParserTests
{
    private static ReadOnlySequence<byte> Seq(string s) => new(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void Framer_finds_the_end_of_a_command_across_literals()
    {
        var input = "a1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\na2 NOOP\r\n";
        var frame = ImapFramer.Frame(Seq(input), acknowledged: 1, maxLiteral: 100, maxLine: 1000);
        Assert.Equal(FrameStatus.Complete, frame.Status);
        Assert.Equal(input.IndexOf("a2", StringComparison.Ordinal), frame.Length);
    }

    [Fact]
    public void Framer_asks_for_a_continuation_only_for_synchronizing_literals_not_yet_answered()
    {
        Assert.Equal(FrameStatus.NeedContinuation, ImapFramer.Frame(Seq("a1 LOGIN {5}\r\n"), 0, 100, 1000).Status);
        Assert.Equal(FrameStatus.NeedMore, ImapFramer.Frame(Seq("a1 LOGIN {5}\r\n"), 1, 100, 1000).Status);
        Assert.Equal(FrameStatus.NeedMore, ImapFramer.Frame(Seq("a1 LOGIN {5+}\r\nal"), 0, 100, 1000).Status);
        Assert.Equal(FrameStatus.NeedMore, ImapFramer.Frame(Seq("a1 NOOP"), 0, 100, 1000).Status);
    }

    [Fact]
    public void Framer_refuses_oversized_literals_and_lines()
    {
        var big = ImapFramer.Frame(Seq("a1 APPEND INBOX {5000}\r\n"), 0, 100, 1000);
        Assert.Equal(FrameStatus.LiteralTooLarge, big.Status);
        Assert.False(big.NonSynchronizing);
        Assert.True(ImapFramer.Frame(Seq("a1 APPEND INBOX {5000+}\r\n"), 0, 100, 1000).NonSynchronizing);
        Assert.Equal(FrameStatus.LineTooLong, ImapFramer.Frame(Seq("a1 " + new string('x', 2000)), 0, 100, 1000).Status);
    }

    [Fact]
    public void Parser_reads_tag_uid_prefix_strings_literals_lists_and_bracketed_atoms()
    {
        var bytes = Encoding.UTF8.GetBytes("x7 uid fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>) \"q\\\"s\" {3}\r\nabc\r\n");
        Assert.True(ImapParser.TryParse(bytes, out var c, out var tag, out var error), error);
        Assert.Equal("x7", tag);
        Assert.Equal("FETCH", c!.Name);
        Assert.True(c.Uid);
        Assert.Equal("1:*", c.Args[0].Text);
        Assert.True(c.Args[1].IsList);
        Assert.Equal("BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>", c.Args[1].Items[1].Text);
        Assert.Equal("q\"s", c.Args[2].Text);
        Assert.Equal(ImapTokenKind.Literal, c.Args[3].Kind);
        Assert.Equal("abc", c.Args[3].Text);
    }

    [Theory]
    [InlineData("", "Missing command tag")]
    [InlineData("a1", "Missing command")]
    [InlineData("a1 LOGIN (x", "Missing )")]
    [InlineData("a1 LOGIN \"x", "Unterminated quoted string")]
    [InlineData("a1 LOGIN  x", "Invalid character in command")]
    [InlineData("a1 LOGIN {99}\r\nab", "Bad literal")]
    [InlineData("a1 X )", "Unexpected )")]
    public void Parser_reports_bad_syntax(string input, string expected)
    {
        Assert.False(ImapParser.TryParse(Encoding.UTF8.GetBytes(input), out _, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void An_open_bracket_without_a_close_is_an_atom_character()
    {
        // RFC 3501: '[' is no atom-special (imaptest's "atoms" test selects !#$&'+,-.0123456789:;<=>?@^_`|[}).
        Assert.True(ImapParser.TryParse(Encoding.ASCII.GetBytes("a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}\r\n"), out var c, out _, out var error), error);
        Assert.Equal("!#$&'+,-.0123456789:;<=>?@^_`|[}", c!.Args[0].Text);
        Assert.True(ImapParser.TryParse(Encoding.ASCII.GetBytes("a FETCH 1 BODY[HEADER.FIELDS (A B)]\r\n"), out c, out _, out error), error);
        Assert.Equal("BODY[HEADER.FIELDS (A B)]", c!.Args[1].Text);
    }

    [Fact]
    public void Parser_never_throws_on_random_bytes()
    {
        var random = new Random(1234);
        var alphabet = Encoding.ASCII.GetBytes("a1 ()[]{}<>\"\\*%:+.0123456789\r\nNILBODY");
        for (int i = 0; i < 20_000; i++)
        {
            var buffer = new byte[random.Next(0, 80)];
            for (int j = 0; j < buffer.Length; j++)
                buffer[j] = random.Next(4) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
            _ = ImapParser.TryParse(buffer, out var parsed, out _, out _);
            _ = ImapFramer.Frame(new ReadOnlySequence<byte>(buffer), random.Next(3), 1000, 60);
            if (parsed is not null && parsed.Args.Count > 0)
            {
                _ = SearchParser.TryParse(parsed.Args, out _, out _, out _);
                _ = FetchParser.TryParse(parsed.Args[0], out _, out _);
            }
        }
    }

    [Theory]
    [InlineData("1:3,5", 10, new long[] { 1, 2, 3, 5 })]
    [InlineData("4:2", 10, new long[] { 2, 3, 4 })]
    [InlineData("8:*", 10, new long[] { 8, 9, 10 })]
    [InlineData("*", 10, new long[] { 10 })]
    [InlineData("12:*", 10, new long[] { 10 })]
    public void Sequence_sets(string text, long largest, long[] expected)
    {
        Assert.True(SequenceSet.TryParse(text, out var set));
        Assert.Equal(expected, Enumerable.Range(1, 12).Select(i => (long)i).Where(n => n <= largest && set.Contains(n, largest)));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1:")]
    [InlineData("a")]
    [InlineData("1,,2")]
    [InlineData("4294967296")]
    public void Bad_sequence_sets(string text) => Assert.False(SequenceSet.TryParse(text, out _));

    [Fact]
    public void Sequence_numbers_compact_into_ranges() => Assert.Equal("1:3,7,9:10", SequenceSet.Compact([1, 2, 3, 7, 9, 10]));

    private static IReadOnlyList<ImapToken> Args(string text)
    {
        Assert.True(ImapParser.TryParse(Encoding.UTF8.GetBytes("t SEARCH " + text), out var c, out _, out var error), error);
        return c!.Args;
    }

    [Fact]
    public void Search_grammar_builds_a_tree()
    {
        Assert.True(SearchParser.TryParse(Args("CHARSET UTF-8 OR (FROM alice UNSEEN) NOT LARGER 100 UID 1:5 HEADER X-Tag \"\" SENTSINCE 1-Feb-2026"), out var key, out var charset, out var error), error);
        Assert.Equal("UTF-8", charset);
        var and = Assert.IsType<AndKey>(key);
        Assert.Equal(4, and.Keys.Count);
        var or = Assert.IsType<OrKey>(and.Keys[0]);
        Assert.IsType<AndKey>(or.Left);
        Assert.IsType<NotKey>(or.Right);
        Assert.True(Assert.IsType<SetKey>(and.Keys[1]).Uid);
        Assert.Equal(new TextKey(SearchText.Header, "X-Tag", ""), and.Keys[2]);
        Assert.Equal(new DateKey(new DateOnly(2026, 2, 1), DateCompare.Since, true), and.Keys[3]);
        Assert.Equal(1 | 2, key.Needs);
    }

    [Theory]
    [InlineData("OR SEEN")]
    [InlineData("FROM")]
    [InlineData("SINCE 2026-01-01")]
    [InlineData("LARGER x")]
    [InlineData("WHATEVER")]
    [InlineData("()")]
    public void Search_grammar_errors(string text) => Assert.False(SearchParser.TryParse(Args(text), out _, out _, out _));

    [Fact]
    public void Fetch_items_and_macros()
    {
        Assert.True(FetchParser.TryParse(Args("ALL")[0], out var all, out _));
        Assert.Equal([FetchKind.Flags, FetchKind.InternalDate, FetchKind.Size, FetchKind.Envelope], all.Select(i => i.Kind));
        Assert.True(FetchParser.TryParse(Args("(UID RFC822 BODY.PEEK[1.2.MIME] BODY[]<5.10> RFC822.HEADER)")[0], out var items, out var error), error);
        Assert.False(items[1].Peek);
        Assert.Equal(("1.2.MIME", true), (items[2].Section, items[2].Peek));
        Assert.Equal(("BODY[]<5>", 5L, 10L), (items[3].Name, items[3].PartialStart!.Value, items[3].PartialLength!.Value));
        Assert.Equal(("RFC822.HEADER", "HEADER", true), (items[4].Name, items[4].Section, items[4].Peek));
    }

    [Theory]
    [InlineData("BODY[0]")]
    [InlineData("BODY[MIME]")]
    [InlineData("BODY[1.FOO]")]
    [InlineData("BODY[HEADER.FIELDS ()]")]
    [InlineData("BODY[]<1>")]
    [InlineData("ENVELOPES")]
    public void Fetch_item_errors(string text) => Assert.False(FetchParser.TryParse(Args(text)[0], out _, out _));

    [Fact]
    public void Stored_part_maps_resolve_sections_like_the_parsed_message()
    {
        var raw = "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\ntwo\r\n--c\r\nContent-Type: text/html\r\n\r\n<p>3</p>\r\n--c--\r\n--b--\r\n";
        var parsed = MimeParser.Parse(raw);
        var stored = PartMap.Parse(PartMap.Serialize(parsed))!;
        foreach (var section in new[] { "", "HEADER", "TEXT", "1", "1.MIME", "2", "2.HEADER", "2.TEXT", "2.1", "2.2", "2.2.MIME", "HEADER.FIELDS (Subject)", "2.HEADER.FIELDS.NOT (Subject)", "3", "2.3", "1.HEADER" })
            Assert.Equal(ImapViews.Resolve(parsed, section), ImapViews.Resolve(stored, section), SectionComparer.Instance);
        Assert.Null(PartMap.Parse("{not json"));
    }

    private sealed class SectionComparer : IEqualityComparer<ImapSection?>
    {
        public static readonly SectionComparer Instance = new();

        public bool Equals(ImapSection? x, ImapSection? y) =>
            x is null ? y is null : y is not null && x.Offset == y.Offset && x.Length == y.Length && x.FieldsNot == y.FieldsNot
                && (x.Fields is null ? y.Fields is null : y.Fields is not null && x.Fields.SetEquals(y.Fields));

        public int GetHashCode(ImapSection? obj) => 0;
    }
}

public sealed class ModifiedUtf7Tests
{
    [Theory]
    [InlineData("INBOX", "INBOX")]
    [InlineData("Entwürfe", "Entw&APw-rfe")]
    [InlineData("A&B", "A&-B")]
    [InlineData("日本語", "&ZeVnLIqe-")]
    [InlineData("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-")]
    public void Round_trips(string name, string encoded)
    {
        Assert.Equal(encoded, ModifiedUtf7.Encode(name));
        Assert.True(ModifiedUtf7.TryDecode(encoded, out var decoded));
        Assert.Equal(name, decoded);
    }

    [Theory]
    [InlineData("&Jjo")]
    [InlineData("&U,BTF2XlZyyKng!-")]
    public void Rejects_broken_names(string encoded) => Assert.False(ModifiedUtf7.TryDecode(encoded, out _));
}
