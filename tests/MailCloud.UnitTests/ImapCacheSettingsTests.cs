using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Imap;

namespace MailCloud.UnitTests;

/// <summary>The IMAP host's cache sizes from MAILCLOUD_IMAP_CACHE and MAILCLOUD_IMAP_BODY_CACHE (documented in README).</summary>
public sealed class ImapCacheSettingsTests
{
    private static ImapServerOptions Options(Dictionary<string, string> env) =>
        ImapServerHost.OptionsFromSettings(new MailCloudSettings(name => env.GetValueOrDefault(name)), certificate: null, name => env.GetValueOrDefault(name));

    [Fact]
    public void Defaults_sizes_and_off()
    {
        var defaults = Options([]);
        Assert.Equal(CachedMailboxStore.DefaultBudget, defaults.CacheBytes);
        Assert.Equal(32L << 20, defaults.BodyCacheBytes);

        var sized = Options(new() { ["MAILCLOUD_IMAP_CACHE"] = "1G", ["MAILCLOUD_IMAP_BODY_CACHE"] = "128M" });
        Assert.Equal(1L << 30, sized.CacheBytes);
        Assert.Equal(128L << 20, sized.BodyCacheBytes);

        var off = Options(new() { ["MAILCLOUD_IMAP_CACHE"] = "off", ["MAILCLOUD_IMAP_BODY_CACHE"] = "off" });
        Assert.Equal((0L, 0L), (off.CacheBytes, off.BodyCacheBytes));

        var error = Assert.Throws<FormatException>(() => Options(new() { ["MAILCLOUD_IMAP_BODY_CACHE"] = "lots" }));
        Assert.Contains("MAILCLOUD_IMAP_BODY_CACHE", error.Message, StringComparison.Ordinal);
    }
}
