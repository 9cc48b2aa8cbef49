using MailCloud.Data;

namespace MailCloud.UnitTests;

public sealed class FolderChangeLogTests
{
    [Fact]
    public void Changes_are_kept_as_uid_ranges_and_read_back_between_two_modseqs()
    {
        var log = FolderChangeLog.Append(null, 1, [1, 2, 3, 4, 7], []);
        log = FolderChangeLog.Append(log, 2, [9], [2]);
        log = FolderChangeLog.Append(log, 3, [], [7, 8]);
        Assert.Equal("1:1-4,7:;2:9:2;3::7-8", log);

        var (changed, expunged) = FolderChangeLog.Read(log, 0, 3)!.Value;
        Assert.Equal([1L, 3L, 4L, 9L], changed.Order());
        Assert.Equal([2L, 7L, 8L], expunged.Order());
        var (later, gone) = FolderChangeLog.Read(log, 2, 3)!.Value;
        Assert.Empty(later);
        Assert.Equal([7L, 8L], gone.Order());
        Assert.Empty(FolderChangeLog.Read(log, 3, 3)!.Value.Changed); // nothing to catch up
        Assert.Empty(FolderChangeLog.Read(log, 1, 2)!.Value.Expunged.Except([2L]));
    }

    [Fact]
    public void A_gap_or_a_trimmed_start_means_the_log_cannot_answer()
    {
        var log = FolderChangeLog.Append(null, 5, [1], []);
        Assert.Null(FolderChangeLog.Read(log, 3, 5)); // change 4 is not in it
        Assert.Null(FolderChangeLog.Read(log, 4, 6)); // change 6 was made without the log
        Assert.Null(FolderChangeLog.Read(null, 4, 5));
        Assert.NotNull(FolderChangeLog.Read(log, 4, 5));

        for (long m = 6; m < 2000; m++)
            log = FolderChangeLog.Append(log, m, [m * 3], []);
        Assert.True(log.Length <= FolderChangeLog.MaxLength);
        Assert.Null(FolderChangeLog.Read(log, 4, 1999)); // the oldest changes were dropped
        Assert.Equal([1998L * 3, 1999L * 3], FolderChangeLog.Read(log, 1997, 1999)!.Value.Changed.Order());
    }
}
