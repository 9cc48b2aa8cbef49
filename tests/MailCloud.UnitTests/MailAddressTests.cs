using MailCloud.Core;

namespace MailCloud.UnitTests;

public sealed class MailAddressTests
{
    [Theory]
    [InlineData("alice@example.com", "alice", "example.com")]
    [InlineData("Alice.Smith+tag@EXAMPLE.com", "Alice.Smith+tag", "example.com")]
    [InlineData("\"john doe\"@example.com", "john doe", "example.com")]
    [InlineData("user@bücher.example", "user", "xn--bcher-kva.example")]
    [InlineData("δοκιμή@παράδειγμα.δοκιμή", "δοκιμή", "xn--hxajbheg2az3al.xn--jxalpdlp")]
    [InlineData("o'brien@example.com.", "o'brien", "example.com")]
    public void Parses_valid_addresses(string text, string local, string domain)
    {
        var a = MailAddress.Parse(text);
        Assert.Equal(local, a.LocalPart);
        Assert.Equal(domain, a.Domain);
    }

    [Theory]
    [InlineData("")]
    [InlineData("alice")]
    [InlineData("alice@")]
    [InlineData("@example.com")]
    [InlineData("@relay.example:user@example.com")] // source route
    [InlineData("user%other.example@example.com")] // percent hack
    [InlineData("host!user@example.com")] // bang path
    [InlineData("\"user@other.example\"@example.com")] // quoted @
    [InlineData("a..b@example.com")]
    [InlineData(".a@example.com")]
    [InlineData("a b@example.com")]
    [InlineData("user@localhost")] // not fully qualified
    [InlineData("user@[127.0.0.1]")]
    [InlineData("user@-bad.example")]
    [InlineData("user@exa_mple.com")]
    public void Refuses_invalid_or_routing_addresses(string text)
    {
        Assert.False(MailAddress.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Equality_ignores_case_of_local_part_and_domain()
    {
        Assert.Equal(MailAddress.Parse("Alice@Example.COM"), MailAddress.Parse("alice@example.com"));
        Assert.NotEqual(MailAddress.Parse("alice@example.com"), MailAddress.Parse("alice@example.org"));
        Assert.Equal("\"john doe\"@example.com", MailAddress.Parse("\"john doe\"@example.com").Address);
    }

    [Theory]
    [InlineData("500M", 500L * 1024 * 1024)]
    [InlineData("2G", 2L * 1024 * 1024 * 1024)]
    [InlineData("1.5GiB", 1610612736L)]
    [InlineData("1048576", 1048576L)]
    [InlineData("10 kb", 10240L)]
    public void Byte_sizes_parse(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("5X")]
    [InlineData("-5M")]
    public void Byte_sizes_refuse_garbage(string text) => Assert.False(ByteSize.TryParse(text, out _));

    [Fact]
    public void Byte_sizes_format() => Assert.Equal("500 MiB", ByteSize.Format(500L * 1024 * 1024));
}
