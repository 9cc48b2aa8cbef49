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
        // The summaries come back packed (a SELECT parses only the list) and parse when asked for.
        Assert.Empty(read.Summaries);
        Assert.NotNull(read.Packed);
        Assert.True(read.Packed.TryRead(out var summaries));
        var (s, r) = (index.Summaries[0], Assert.Single(summaries));
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
        var version1 = (byte[])bytes.Clone();
        version1[4] = 1; // the one-section format of before: read as no index, so the rows are read and a new one written
        Assert.False(FolderIndexFormat.TryRead(version1, out _));
    }

    [Fact]
    public void Summaries_that_do_not_parse_leave_the_list_usable()
    {
        // Written by a faulty writer with a valid hash: the list is still the folder's, the summaries are read from rows.
        var bytes = FolderIndexFormat.Write(Sample());
        int listLength = BitConverter.ToInt32(bytes, 5);
        var garbage = "definitely not gzip"u8.ToArray();
        var forged = bytes.AsSpan(0, 9 + listLength).ToArray().Concat(garbage).ToArray();
        forged = [.. forged, .. System.Security.Cryptography.SHA256.HashData(forged.AsSpan(5))];
        Assert.True(FolderIndexFormat.TryRead(forged, out var read));
        Assert.Equal(Sample().Messages, read.Messages);
        Assert.False(read.Packed!.TryRead(out _));
    }
}
