using MailCloud.Data;

namespace MailCloud.UnitTests;

public sealed class BufferedUploadTests
{
    /// <summary>A stream that hands out a few bytes per read, like a network stream.</summary>
    private sealed class Trickle(byte[] data) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 7));
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => base.ReadAsync(buffer[..Math.Min(buffer.Length, 7)], cancellationToken);
        public override bool CanSeek => false;
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(100, true)]
    [InlineData(1023, true)]
    [InlineData(1024, true)]  // exactly the threshold: still one Put Blob
    [InlineData(1025, false)] // one byte more: blocks
    [InlineData(5000, false)]
    public async Task Messages_up_to_the_threshold_become_seekable_and_longer_ones_stream_whole(int length, bool seekable)
    {
        var data = Enumerable.Range(0, length).Select(i => (byte)(i * 31)).ToArray();
        using var upload = await BufferedUpload.PrepareAsync(new Trickle(data), 1024, CancellationToken.None);
        Assert.Equal(seekable, upload.Content.CanSeek);
        var copy = new MemoryStream();
        await upload.Content.CopyToAsync(copy);
        Assert.Equal(data, copy.ToArray());
        Assert.Equal(length, upload.Size);
    }
}
