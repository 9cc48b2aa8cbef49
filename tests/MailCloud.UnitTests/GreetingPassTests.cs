using System.Net;
using MailCloud.Smtp;

namespace MailCloud.UnitTests;

public sealed class GreetingPassTests
{
    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void A_passed_client_is_remembered_until_its_time_runs_out_and_the_table_stays_bounded()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var pass = new GreetingPass(TimeSpan.FromHours(1), [IPNetwork.Parse("10.0.0.0/8")], time, capacity: 2);
        var a = IPAddress.Parse("192.0.2.1");
        Assert.False(pass.SkipsPause(a));
        pass.Passed(a);
        Assert.True(pass.SkipsPause(a));
        Assert.True(pass.SkipsPause(IPAddress.Parse("::ffff:192.0.2.1"))); // the same client over a dual-stack socket
        Assert.True(pass.SkipsPause(IPAddress.Parse("10.1.2.3"))); // trusted
        pass.Passed(IPAddress.Parse("192.0.2.2"));
        pass.Passed(IPAddress.Parse("192.0.2.3")); // full of live entries: not added
        Assert.False(pass.SkipsPause(IPAddress.Parse("192.0.2.3")));
        time.Now += TimeSpan.FromHours(2);
        Assert.False(pass.SkipsPause(a)); // expired
        pass.Passed(IPAddress.Parse("192.0.2.3")); // the expired ones make room
        Assert.True(pass.SkipsPause(IPAddress.Parse("192.0.2.3")));
        Assert.Equal(1, pass.Remembered);
    }
}
