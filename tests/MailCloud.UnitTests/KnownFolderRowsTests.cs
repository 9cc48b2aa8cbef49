using Azure;
using Azure.Data.Tables;
using MailCloud.Data;

namespace MailCloud.UnitTests;

public sealed class KnownFolderRowsTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;
        public override DateTimeOffset GetUtcNow() => Now;
        public override long GetTimestamp() => Now.UtcTicks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }

    private static TableEntity Row(string partition, string folder) => new(partition, "folder:" + folder) { ETag = new ETag("\"1\"") };

    [Fact]
    public void A_row_is_trusted_for_its_keep_then_forgotten_and_the_table_stays_bounded()
    {
        var time = new ManualTime();
        var rows = new KnownFolderRows(time);
        var inbox = Row("u", "INBOX");
        rows.Remember(inbox);
        Assert.Same(inbox, rows.Get("u", "folder:INBOX"));
        Assert.Null(rows.Get("v", "folder:INBOX")); // per user
        time.Now += KnownFolderRows.Keep - TimeSpan.FromSeconds(1);
        Assert.Same(inbox, rows.Get("u", "folder:INBOX"));
        time.Now += TimeSpan.FromSeconds(1);
        Assert.Null(rows.Get("u", "folder:INBOX"));

        rows.Remember(inbox);
        rows.Forget("u", "folder:INBOX");
        Assert.Null(rows.Get("u", "folder:INBOX"));

        // Full of old rows: they make room. Full of live ones: it starts again rather than grow.
        for (int i = 0; i < KnownFolderRows.Capacity; i++)
            rows.Remember(Row("u" + i, "INBOX"));
        time.Now += KnownFolderRows.Keep;
        rows.Remember(Row("fresh", "INBOX"));
        Assert.Equal(1, rows.Count);
        for (int i = 1; i < KnownFolderRows.Capacity; i++)
            rows.Remember(Row("u" + i, "INBOX"));
        rows.Remember(Row("one more", "INBOX"));
        Assert.True(rows.Count <= KnownFolderRows.Capacity);
        Assert.NotNull(rows.Get("one more", "folder:INBOX"));
    }
}
