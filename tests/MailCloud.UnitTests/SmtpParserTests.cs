using System.Buffers;
using System.Text;
using MailCloud.Protocols;
using MailCloud.Smtp;

namespace MailCloud.UnitTests;

public sealed class SmtpParserTests
{
    private static ReadOnlySequence<byte> Bytes(string s) => new(Encoding.UTF8.GetBytes(s));

    private static SmtpCommand Parse(string line)
    {
        Assert.True(SmtpCommandParser.TryParse(Bytes(line), out var command, out var error), error.ToString());
        return command;
    }

    private static SmtpReply Error(string line)
    {
        Assert.False(SmtpCommandParser.TryParse(Bytes(line), out _, out var error));
        return error;
    }

    [Theory]
    [InlineData("EHLO client.example", SmtpVerb.Ehlo, "client.example")]
    [InlineData("helo [192.0.2.1]", SmtpVerb.Helo, "[192.0.2.1]")]
    [InlineData("DATA", SmtpVerb.Data, "")]
    [InlineData("bdat 100 LAST", SmtpVerb.Bdat, "100 LAST")]
    [InlineData("AUTH PLAIN AGFsaWNlAHB3", SmtpVerb.Auth, "PLAIN AGFsaWNlAHB3")]
    [InlineData("StartTLS", SmtpVerb.StartTls, "")]
    public void Verbs_are_case_insensitive(string line, SmtpVerb verb, string argument)
    {
        var c = Parse(line);
        Assert.Equal(verb, c.Verb);
        Assert.Equal(argument, c.Argument);
    }

    [Fact]
    public void Mail_path_and_parameters()
    {
        var c = Parse("MAIL FROM:<alice@example.com> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1 SMTPUTF8");
        Assert.Equal("alice@example.com", c.Path);
        Assert.Equal("1000", c.Parameter("SIZE"));
        Assert.Equal("8BITMIME", c.Parameter("body"));
        Assert.Equal("QQ+1", c.Parameter("ENVID")); // xtext decoded
        Assert.True(c.HasParameter("SMTPUTF8"));
        Assert.Null(c.Parameter("SMTPUTF8"));
    }

    [Fact]
    public void Null_reverse_path_source_routes_and_quoted_local_parts()
    {
        Assert.Equal(string.Empty, Parse("MAIL FROM:<>").Path);
        Assert.Equal("bob@example.com", Parse("RCPT TO:<@relay1.example,@relay2.example:bob@example.com>").Path);
        Assert.Equal("\"odd > local\"@example.com", Parse("RCPT TO:<\"odd > local\"@example.com> NOTIFY=NEVER").Path);
        Assert.Equal("bob@example.com", Parse("RCPT TO: <bob@example.com>").Path); // common leniency
        Assert.Equal("δοκιμή@παράδειγμα.δοκιμή", Parse("RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>").Path);
    }

    [Theory]
    [InlineData("RCPT TO:<>", 501)]
    [InlineData("MAIL FROM:alice@example.com", 501)]
    [InlineData("MAIL TO:<alice@example.com>", 501)]
    [InlineData("RCPT TO:<unclosed@example.com", 501)]
    [InlineData("MAIL FROM:<a@b.example> SIZE=1 SIZE=2", 501)]
    [InlineData("MAIL FROM:<a@b.example> ENVID=bad+zz", 501)]
    [InlineData("MAIL FROM:<a@b.example> =x", 501)]
    [InlineData("EHLO", 501)]
    [InlineData("DATA now", 501)]
    [InlineData("FROB", 500)]
    [InlineData("", 500)]
    [InlineData("NOOP \u0001", 500)]
    public void Malformed_commands_get_reply_codes(string line, int code) => Assert.Equal(code, Error(line).Code);

    [Fact]
    public void Invalid_utf8_is_a_syntax_error_not_an_exception()
    {
        Assert.False(SmtpCommandParser.TryParse(new ReadOnlySequence<byte>([0x4d, 0x41, 0x49, 0x4c, 0x20, 0xff, 0xfe]), out _, out var error));
        Assert.Equal(500, error.Code);
        Assert.Equal("5.5.2", error.Enhanced);
    }

    [Fact]
    public void Parser_never_throws_on_random_bytes()
    {
        var random = new Random(1234);
        for (int i = 0; i < 5000; i++)
        {
            var bytes = new byte[random.Next(0, 80)];
            random.NextBytes(bytes);
            if (i % 3 == 0 && bytes.Length > 10)
                Encoding.ASCII.GetBytes("MAIL FROM:<").CopyTo(bytes, 0);
            var ok = SmtpCommandParser.TryParse(new ReadOnlySequence<byte>(bytes), out var command, out var error);
            // Either a command, or a reply the session can send; never an exception.
            Assert.True(ok ? command is not null : error.Code is 500 or 501, $"{ok} {error}");
        }
    }

    [Fact]
    public void State_table_admits_only_the_rfc_sequence()
    {
        Assert.True(SmtpStateTable.IsAllowed(SmtpState.Connected, SmtpVerb.Ehlo));
        Assert.False(SmtpStateTable.IsAllowed(SmtpState.Connected, SmtpVerb.Mail));
        Assert.True(SmtpStateTable.IsAllowed(SmtpState.Ready, SmtpVerb.Mail));
        Assert.False(SmtpStateTable.IsAllowed(SmtpState.Ready, SmtpVerb.Rcpt));
        Assert.False(SmtpStateTable.IsAllowed(SmtpState.HaveSender, SmtpVerb.Data));
        Assert.True(SmtpStateTable.IsAllowed(SmtpState.HaveRecipients, SmtpVerb.Data));
        Assert.False(SmtpStateTable.IsAllowed(SmtpState.HaveSender, SmtpVerb.Auth));
        Assert.False(SmtpStateTable.IsAllowed(SmtpState.HaveSender, SmtpVerb.StartTls));
        Assert.False(SmtpStateTable.IsAllowed(SmtpState.Chunking, SmtpVerb.Data));
        Assert.False(SmtpStateTable.IsAllowed(SmtpState.Chunking, SmtpVerb.Mail));
        Assert.True(SmtpStateTable.IsAllowed(SmtpState.Chunking, SmtpVerb.Bdat));
    }

    [Fact]
    public void Replies_format_multiline_with_enhanced_codes()
    {
        Assert.Equal("250-first\r\n250 last\r\n", Encoding.UTF8.GetString(new SmtpReply(250, null, "first", "last").ToBytes()));
        Assert.Equal("550 5.1.1 <x@y.example>: user unknown\r\n", Encoding.UTF8.GetString(new SmtpReply(550, "5.1.1", "<x@y.example>: user unknown").ToBytes()));
    }

    [Fact]
    public void Line_reader_takes_crlf_and_bare_lf_lines_and_keeps_partial_ones()
    {
        var buffer = Bytes("NOOP\r\nQUIT\npartial");
        Assert.True(LineReader.TryReadLine(ref buffer, out var one));
        Assert.Equal("NOOP", Encoding.ASCII.GetString(one));
        Assert.True(LineReader.TryReadLine(ref buffer, out var two));
        Assert.Equal("QUIT", Encoding.ASCII.GetString(two));
        Assert.False(LineReader.TryReadLine(ref buffer, out _));
        Assert.Equal("partial", Encoding.ASCII.GetString(buffer));
    }

    [Theory]
    [InlineData("100", 100, false, true)]
    [InlineData("0 LAST", 0, true, true)]
    [InlineData("10 last", 10, true, true)]
    [InlineData("10 FIRST", 0, false, false)]
    [InlineData("-1", 0, false, false)]
    [InlineData("", 0, false, false)]
    public void Bdat_arguments(string arg, long size, bool last, bool ok)
    {
        Assert.Equal(ok, SmtpSession.TryParseBdat(arg, out var s, out var l));
        if (ok)
        {
            Assert.Equal(size, s);
            Assert.Equal(last, l);
        }
    }
}

public sealed class Pop3ParserTests
{
    private static System.Buffers.ReadOnlySequence<byte> B(string s) => new(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void Commands_parse_case_insensitively_and_pass_keeps_spaces()
    {
        Assert.True(MailCloud.Pop3.Pop3CommandParser.TryParse(B("retr 3"), out var retr, out _));
        Assert.Equal(MailCloud.Pop3.Pop3Verb.Retr, retr.Verb);
        Assert.Equal(["3"], retr.Arguments);
        Assert.True(MailCloud.Pop3.Pop3CommandParser.TryParse(B("PASS correct horse battery"), out var pass, out _));
        Assert.Equal(["correct horse battery"], pass.Arguments);
        Assert.True(MailCloud.Pop3.Pop3CommandParser.TryParse(B("TOP 1 10"), out var top, out _));
        Assert.Equal(["1", "10"], top.Arguments);
    }

    [Theory]
    [InlineData("")]
    [InlineData("FROB")]
    [InlineData("NOOP \u0001")]
    public void Bad_commands_are_refused_with_a_reason(string line)
    {
        Assert.False(MailCloud.Pop3.Pop3CommandParser.TryParse(B(line), out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Over_long_lines_are_refused() =>
        Assert.False(MailCloud.Pop3.Pop3CommandParser.TryParse(B("NOOP " + new string('x', 300)), out _, out _));

    [Fact]
    public void State_table_separates_authorization_and_transaction()
    {
        Assert.True(MailCloud.Pop3.Pop3StateTable.IsAllowed(MailCloud.Pop3.Pop3State.Authorization, MailCloud.Pop3.Pop3Verb.User));
        Assert.False(MailCloud.Pop3.Pop3StateTable.IsAllowed(MailCloud.Pop3.Pop3State.Authorization, MailCloud.Pop3.Pop3Verb.Retr));
        Assert.True(MailCloud.Pop3.Pop3StateTable.IsAllowed(MailCloud.Pop3.Pop3State.Transaction, MailCloud.Pop3.Pop3Verb.Dele));
        Assert.False(MailCloud.Pop3.Pop3StateTable.IsAllowed(MailCloud.Pop3.Pop3State.Transaction, MailCloud.Pop3.Pop3Verb.Pass));
    }
}
