using System.Net;
using MailCloud.Dns;
using MailCloud.LocalDev;

namespace MailCloud.FunctionalTests.Dns;

public sealed class DnsResolverTests(DnsmasqFixture dns) : IClassFixture<DnsmasqFixture>
{
    private DnsResolver Resolver() => new([dns.EndPoint], TimeSpan.FromSeconds(1));

    [Fact]
    public async Task Mx_records_come_with_preferences()
    {
        var answer = await Resolver().QueryAsync("remote.test", DnsType.MX);
        Assert.Equal(DnsStatus.NoError, answer.Status);
        Assert.Equal([(10, "mx1.remote.test"), (20, "mx2.remote.test")], answer.Data<MxData>().OrderBy(m => m.Preference).Select(m => ((int)m.Preference, m.Exchange)));
    }

    [Fact]
    public async Task A_records_no_data_nxdomain_and_null_mx_are_distinct()
    {
        var r = Resolver();
        Assert.Equal([IPAddress.Parse("127.0.0.5")], (await r.QueryAsync("nomx.remote.test", DnsType.A)).Data<IPAddress>());
        Assert.True((await r.QueryAsync("nomx.remote.test", DnsType.MX)).IsNoData);
        var nx = await r.QueryAsync("nothere.remote.test", DnsType.MX);
        Assert.True(nx.IsNameError);
        Assert.False(nx.IsTemporaryFailure);
        var nullMx = (await r.QueryAsync("nullmx.remote.test", DnsType.MX)).Data<MxData>().Single();
        Assert.Equal((0, ""), ((int)nullMx.Preference, nullMx.Exchange));
    }

    [Fact]
    public async Task Txt_records_and_truncation_fall_back_to_tcp()
    {
        var r = Resolver();
        Assert.Equal("v=spf1 ip4:127.0.0.0/8 -all", (await r.QueryAsync("remote.test", DnsType.TXT)).Data<string>().Single());
        var big = await r.QueryAsync("big.remote.test", DnsType.TXT);
        Assert.Equal(8, big.Records.Count); // ~2 KB: more than a 1232-byte EDNS0 datagram holds
        Assert.All(big.Data<string>(), t => Assert.Equal(250, t.Length));
    }

    [Fact]
    public async Task Tlsa_and_ptr_records_are_decoded()
    {
        var r = Resolver();
        var tlsa = (await r.QueryAsync("_25._tcp.mx1.remote.test", DnsType.TLSA)).Data<TlsaData>().Single();
        Assert.Equal((3, 1, 1), ((int)tlsa.Usage, (int)tlsa.Selector, (int)tlsa.MatchingType));
        Assert.Equal(Enumerable.Repeat((byte)0xaa, 32), tlsa.Certificate);
        Assert.Equal("mx1.remote.test", (await r.QueryAsync("3.0.0.127.in-addr.arpa", DnsType.PTR)).Data<string>().Single());
    }

    [Fact]
    public async Task Idn_names_are_queried_as_a_labels_and_answers_are_cached()
    {
        var r = Resolver();
        Assert.Equal([IPAddress.Parse("127.0.0.6")], (await r.QueryAsync("bücher.remote.test", DnsType.A)).Data<IPAddress>());
        int sent = r.QueriesSent;
        await r.QueryAsync("xn--bcher-kva.remote.test", DnsType.A);
        await r.QueryAsync("nothere.remote.test", DnsType.A);
        await r.QueryAsync("nothere.remote.test", DnsType.A); // negative answers are cached too
        Assert.Equal(sent + 1, r.QueriesSent);
    }

    [Fact]
    public async Task A_dead_server_is_a_temporary_failure_and_the_next_server_is_tried()
    {
        var dead = new IPEndPoint(IPAddress.Loopback, AzuriteProcess.FreePort()); // nothing answers there
        var onlyDead = new DnsResolver([dead], TimeSpan.FromMilliseconds(300), attempts: 1);
        var answer = await onlyDead.QueryAsync("remote.test", DnsType.MX);
        Assert.True(answer.IsTemporaryFailure);
        Assert.Equal(DnsStatus.Timeout, answer.Status);

        var failover = new DnsResolver([dead, dns.EndPoint], TimeSpan.FromMilliseconds(300), attempts: 1);
        Assert.Equal(2, (await failover.QueryAsync("remote.test", DnsType.MX)).Records.Count);
    }

    [Fact]
    public void Servers_come_from_the_environment_setting() =>
        Assert.NotNull(DnsResolver.FromEnvironment($"127.0.0.1:{dns.Port}, 127.0.0.2:5353"));
}
