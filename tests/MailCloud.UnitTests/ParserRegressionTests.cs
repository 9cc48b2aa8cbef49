using System.Buffers;
using System.Text;
using MailCloud.Core;
using MailCloud.Imap;
using MailCloud.Mime;
using MailCloud.Pipeline.Authentication;
using MailCloud.Smtp;

namespace MailCloud.UnitTests;

/// <summary>What afl++ found (issue #18) and the record parsers split out of evaluation, each pinned by name.</summary>
public sealed class ParserRegressionTests
{
    [Fact]
    public void Imap_uid_followed_by_a_second_space_is_a_syntax_error_not_a_nameless_command()
    {
        Assert.False(ImapParser.TryParse(Encoding.ASCII.GetBytes("a3 UID  FETCH 1 FLAGS\r\n"), out var parsed, out var tag, out var error));
        Assert.Null(parsed);
        Assert.Equal("a3", tag);
        Assert.Equal("UID needs a command", error);
    }

    [Theory]
    [InlineData("n,\u00ea,n=user@example.com,r=abc")]
    [InlineData("n,y,a=user@example.com,n=user@example.com,r=abc")]
    [InlineData("y,m,n=user@example.com,r=abc")]
    public async Task Scram_with_a_malformed_authorization_identity_fails_the_exchange_without_throwing(string clientFirst)
    {
        var server = new ScramSha256Server((_, _) => Task.FromResult<ScramCredential?>(ScramCredential.Create("pencil pencil", ScramCredential.MinimumIterations)));
        Assert.Null(await server.ReceiveClientFirstAsync(clientFirst));
        Assert.Equal(ScramSha256Server.ScramState.Failed, server.State);
        Assert.Equal("malformed gs2 header", server.Error);
    }

    [Fact]
    public void A_utf7_subject_is_decoded_instead_of_throwing()
    {
        var message = MimeParser.Parse("Subject: =?utf-7?Q?Hi_+AKM-5?=\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n+AKM-5\r\n");
        Assert.Equal("Hi £5", message.Subject);
        Assert.Equal("£5", Charsets.Decode("+AKM-5"u8, "UTF-7"));
    }

    [Theory]
    [InlineData("Tue, 1 Dec 2026 -0500000000:00:00 -0500")]
    [InlineData("1 Dec 2026 10:-5:00 +0000")]
    public void A_signed_time_field_is_ignored_instead_of_throwing(string text)
    {
        Assert.True(DateParser.TryParse(text, out var date)); // the day stands; the broken time is not a time
        Assert.Equal((2026, 12, 1, TimeSpan.Zero), (date.Year, date.Month, date.Day, date.TimeOfDay));
    }

    [Theory]
    [InlineData("v=spf1 ip4:192.0.2.0/-1 -all", "bad ip4 prefix length")] // once parsed as prefix -1: every address matched
    [InlineData("v=spf1 ip4:192.0.2.0/33 -all", "bad ip4 prefix length")]
    [InlineData("v=spf1 ip6:2001:db8::/129 -all", "bad ip6 prefix length")]
    [InlineData("v=spf1 ip4:2001:db8::1 -all", "bad ip4 address")]
    [InlineData("v=spf1 a/024 -all", "bad prefix length in a")]
    [InlineData("v=spf1 include -all", "include needs a domain")]
    [InlineData("v=spf1 exists:%{x}.example -all", "bad domain in exists")]
    [InlineData("v=spf1 a:%{d0}.example -all", "bad domain in a")]
    [InlineData("v=spf1 redirect=a.example redirect=b.example", "redirect= given twice or empty")]
    [InlineData("v=spf1 frob:example.com -all", "unknown mechanism 'frob'")]
    [InlineData("v=spf1 all:x", "all takes no argument")]
    public void Malformed_spf_records_are_refused_whole(string record, string reason)
    {
        Assert.False(SpfRecord.TryParse(record, out _, out var error));
        Assert.Equal(reason, error);
    }

    [Fact]
    public void An_spf_record_parses_into_its_mechanisms_with_their_prefixes()
    {
        Assert.True(SpfRecord.TryParse("v=spf1 ip4:192.0.2.0/24 ~mx/26//64 ?a:mail.%{d} -include:_spf.example.net unknown=ignored redirect=_spf.%{o} -all", out var r, out _));
        Assert.Equal([SpfMechanismKind.Ip4, SpfMechanismKind.Mx, SpfMechanismKind.A, SpfMechanismKind.Include, SpfMechanismKind.All], r.Mechanisms.Select(m => m.Kind));
        Assert.Equal(24, r.Mechanisms[0].Cidr4);
        Assert.Equal((SpfResult.SoftFail, 26, 64), (r.Mechanisms[1].Result, r.Mechanisms[1].Cidr4, r.Mechanisms[1].Cidr6));
        Assert.Equal((SpfResult.Neutral, "mail.%{d}"), (r.Mechanisms[2].Result, r.Mechanisms[2].DomainSpec));
        Assert.Equal(SpfResult.Fail, r.Mechanisms[3].Result);
        Assert.Equal("_spf.%{o}", r.Redirect);
    }

    [Fact]
    public void A_macro_expansion_longer_than_a_domain_name_loses_labels_on_the_left()
    {
        var name = SpfMacro.Expand("%{l}.%{l}.%{l}.%{l}.%{d}", System.Net.IPAddress.Parse("192.0.2.1"), "example.com", new string('a', 60) + "@example.com", "h");
        Assert.True(name.Length <= 253);
        Assert.EndsWith(".example.com", name, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v=DMARC1; p=reject; sp=none; adkim=s; pct=20", "reject", "none", true, false, 20)]
    [InlineData("v=DMARC1;p=quarantine;pct=250;aspf=s;sp=bogus", "quarantine", null, false, true, 100)]
    public void Dmarc_records_parse_with_defaults_for_bad_optional_tags(string text, string policy, string? sub, bool strictDkim, bool strictSpf, int pct)
    {
        Assert.True(DmarcRecord.TryParse(text, out var r));
        Assert.Equal(new DmarcRecord(policy, sub, strictDkim, strictSpf, pct), r);
    }

    [Theory]
    [InlineData("v=DMARC1; sp=reject")]
    [InlineData("v=DMARC1; p=maybe")]
    [InlineData("v=dmarc1; p=reject")]
    [InlineData("p=reject; v=DMARC1")]
    public void Dmarc_records_without_a_valid_policy_or_version_first_are_unusable(string text) =>
        Assert.False(DmarcRecord.TryParse(text, out _));

    private sealed class Sink : IDataSink
    {
        public readonly ArrayBufferWriter<byte> Bytes = new();

        public void Write(in ReadOnlySequence<byte> data)
        {
            foreach (var s in data)
                Bytes.Write(s.Span);
        }
    }

    [Fact]
    public void Data_framing_is_the_same_whatever_the_reads_and_stops_only_at_crlf_dot_crlf()
    {
        var input = "line\r\n..stuffed\r\nbare\n.\nnot the end\r\n.\r\nNEXT COMMAND\r\n"u8.ToArray();
        foreach (var step in new[] { 1, 2, 3, 5, input.Length })
        {
            var framer = new DataFramer();
            var sink = new Sink();
            int received = 0, consumed = 0;
            bool done = false;
            while (!done && received < input.Length)
            {
                received = Math.Min(input.Length, received + step);
                var buffer = new ReadOnlySequence<byte>(input.AsMemory(consumed, received - consumed));
                done = framer.Consume(ref buffer, sink);
                consumed = received - (int)buffer.Length;
            }
            Assert.True(done);
            Assert.Equal("line\r\n.stuffed\r\nbare\n.\nnot the end\r\n", Encoding.ASCII.GetString(sink.Bytes.WrittenSpan));
            Assert.Equal("NEXT COMMAND\r\n", Encoding.ASCII.GetString(input, consumed, input.Length - consumed));
        }
    }
}
