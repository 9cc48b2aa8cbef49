using MailCloud.Data;

namespace MailCloud.UnitTests;

/// <summary>Which backup sets a prune keeps: all of the last day, then the newest per day and per ISO week.</summary>
public sealed class BackupRetentionTests
{
    private static BackupSetInfo Set(DateTimeOffset at) => new(StoredBackups.NewId(at), at, 10, 5, 0, 0, 100);

    private static DateTimeOffset Utc(DateTime d) => new(DateTime.SpecifyKind(d, DateTimeKind.Utc));

    [Fact]
    public void Keeps_everything_from_the_last_day_then_the_newest_of_each_day_and_week()
    {
        var now = new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero); // a Wednesday
        var sets = new List<BackupSetInfo>();
        // Two sets a day (02:00 and 14:00) for 60 days back.
        for (int day = 0; day < 60; day++)
        {
            sets.Add(Set(Utc(now.UtcDateTime.Date.AddDays(-day).AddHours(2))));
            if (day > 0)
                sets.Add(Set(Utc(now.UtcDateTime.Date.AddDays(-day).AddHours(14))));
        }
        var keep = StoredBackups.Keep(sets, new BackupRetention(Daily: 3, Weekly: 2), now);

        // The last 24 h: today 02:00 and yesterday 14:00; daily: the newest of today, yesterday and the day before.
        var expected = new[]
        {
            now.UtcDateTime.Date.AddHours(2), now.UtcDateTime.Date.AddDays(-1).AddHours(14), now.UtcDateTime.Date.AddDays(-2).AddHours(14),
            // Weekly: the newest of this ISO week (today's) and of last week (Sunday 29 Nov, 14:00).
            new DateTime(2026, 11, 29, 14, 0, 0, DateTimeKind.Utc),
        }.Select(d => StoredBackups.NewId(Utc(d))).ToHashSet();
        Assert.Equal(expected.Order(StringComparer.Ordinal), keep.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_frequent_schedule_keeps_a_day_of_sets_and_never_drops_the_newest()
    {
        var now = new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
        var sets = Enumerable.Range(0, 48).Select(h => Set(now.AddHours(-h))).ToList();
        var keep = StoredBackups.Keep(sets, new BackupRetention(Daily: 1, Weekly: 0), now);
        Assert.Equal(24, keep.Count(id => string.CompareOrdinal(id, StoredBackups.NewId(now.AddDays(-1))) > 0));
        Assert.Contains(StoredBackups.NewId(now), keep);
        Assert.Equal(24, keep.Count);
        Assert.Empty(StoredBackups.Keep([], new BackupRetention(), now));
    }
}
