using MailCloud.Data;

namespace MailCloud.UnitTests;

public sealed class FlagRunsTests
{
    [Fact]
    public void Runs_round_trip_through_the_column_in_modseq_order()
    {
        FlagRun[] runs =
        [
            new(12, 1, 9000, FlagEdit.Remove("\\seen", "$Work")),
            new(10, 5, 80, FlagEdit.Replace()),
            new(11, 100, 200, FlagEdit.Add("\\Flagged")),
        ];
        var column = FlagRuns.Format(runs);
        Assert.Equal("10 5 80 =\n11 100 200 + \\Flagged\n12 1 9000 - $Work \\Seen", column); // system flags in their canonical spelling
        var back = FlagRuns.Parse(column);
        Assert.Equal([10L, 11L, 12L], back.Select(r => r.ModSeq));
        Assert.Equal(FlagEditMode.Remove, back[2].Edit.Mode);
        Assert.Equal(["$Work", "\\Seen"], back[2].Edit.Flags);
        Assert.Empty(back[0].Edit.Flags);
        Assert.Empty(FlagRuns.Parse(null));
        Assert.Empty(FlagRuns.Parse(string.Empty));
    }

    [Fact]
    public void An_unreadable_run_is_an_error_not_skipped()
    {
        Assert.Throws<FormatException>(() => FlagRuns.Parse("10 1 20 ? \\Seen"));
        Assert.Throws<FormatException>(() => FlagRuns.Parse("10 1"));
    }

    [Fact]
    public void A_row_takes_the_runs_newer_than_it_that_cover_its_uid_and_the_modseq_of_the_last_that_changed_it()
    {
        FlagRun[] runs =
        [
            new(10, 1, 100, FlagEdit.Add("\\Seen")),
            new(11, 50, 60, FlagEdit.Add("\\Seen")), // changes nothing after run 10
            new(12, 1, 40, FlagEdit.Remove("\\Seen")),
        ];
        Assert.Equal(("\\Seen", 10L), FlagRuns.Compose(runs, 55, string.Empty, 3));
        Assert.Equal((string.Empty, 12L), FlagRuns.Compose(runs, 20, string.Empty, 3)); // +, then - : back to nothing, changed at 12
        Assert.Equal(("\\Flagged \\Seen", 10L), FlagRuns.Compose(runs, 70, "\\Flagged", 3));
        Assert.Equal(("\\Flagged", 11L), FlagRuns.Compose(runs, 55, "\\Flagged", 11)); // a row written at 11 already holds runs up to 11
        Assert.Equal(("$X", 3L), FlagRuns.Compose(runs, 101, "$X", 3)); // outside every run
        Assert.Equal(("\\Seen", 5L), FlagRuns.Compose(runs, 80, "\\Seen", 5)); // covered, but nothing changes
    }

    [Fact]
    public void Edits_apply_to_stored_flag_strings()
    {
        Assert.Equal("\\Deleted \\Seen", FlagEdit.Add("\\DELETED").Apply("\\Seen"));
        Assert.Equal("$A", FlagEdit.Remove("\\Seen").Apply("$A \\Seen"));
        Assert.Equal("\\Answered", FlagEdit.Replace("\\answered").Apply("$A \\Seen"));
    }
}
