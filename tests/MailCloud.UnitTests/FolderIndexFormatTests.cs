using MailCloud.Data;

namespace MailCloud.UnitTests;

/// <summary>The stored folder index's bytes: every field comes back, and damaged or foreign bytes read as no index.</summary>
public sealed class FolderIndexFormatTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 2, 10, 0, 0, TimeSpan.FromHours(2));

    private static StoredFolderIndex Sample() => new(1_780_000_000, 42, 4,
        [new MailboxMessage(1, 2300, "2026/03/02/a.eml", "id-a", @"\Seen", 40, At), new MailboxMessage(3, 10, "2026/03/02/b.eml", "id-b", string.Empty, 42, At.AddDays(1))],
        [new MessageDetails(1, "2026/03/02/a.eml")
        {
            Size = 2300, InternalDate = At, MessageId = "id-a", Envelope = "(\"env\")", Body = "(\"text\")", BodyStructure = "(\"text\" \"plain\")", Parts = "1:0:10",
            Header = [1, 2, 3], Prefix = null, SummaryTruncated = true, Subject = "Grüße", From = "s@remote.example", To = null, Cc = "c@x", Date = At,
        }]);

    [Fact]
    public void An_index_reads_back_field_for_field()
    {
        var index = Sample();
        Assert.True(FolderIndexFormat.TryRead(FolderIndexFormat.Write(index), out var read));
        Assert.Equal((index.UidValidity, index.HighestModSeq, index.UidNext), (read.UidValidity, read.HighestModSeq, read.UidNext));
        Assert.Equal(index.Messages, read.Messages);
        var (s, r) = (index.Summaries[0], read.Summaries[0]);
        Assert.Equal((s.Uid, s.Blob, s.Size, s.InternalDate, s.MessageId, s.Envelope, s.Body, s.BodyStructure, s.Parts), (r.Uid, r.Blob, r.Size, r.InternalDate, r.MessageId, r.Envelope, r.Body, r.BodyStructure, r.Parts));
        Assert.Equal(s.Header, r.Header);
        Assert.Null(r.Prefix);
        Assert.Equal((s.SummaryTruncated, s.Subject, s.From, s.To, s.Cc, s.Date), (r.SummaryTruncated, r.Subject, r.From, r.To, r.Cc, r.Date));
        Assert.Equal(TimeSpan.FromHours(2), r.Date!.Value.Offset);
    }

    [Fact]
    public void Damaged_or_foreign_bytes_read_as_no_index()
    {
        var bytes = FolderIndexFormat.Write(Sample());
        for (int cut = 0; cut < bytes.Length; cut++)
            Assert.False(FolderIndexFormat.TryRead(bytes.AsSpan(0, cut), out _), $"cut at {cut}");
        var otherVersion = (byte[])bytes.Clone();
        otherVersion[4] = 99;
        Assert.False(FolderIndexFormat.TryRead(otherVersion, out _));
        Assert.False(FolderIndexFormat.TryRead("not an index at all"u8, out _));
        var flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 0x20; // inside the compressed data: the hash no longer agrees
        Assert.False(FolderIndexFormat.TryRead(flipped, out _));
    }
}
