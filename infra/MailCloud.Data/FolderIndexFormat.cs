using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace MailCloud.Data;

/// <summary>
/// The bytes of a <see cref="StoredFolderIndex"/>: "MCIX", a version byte, gzip of the folder's state, its
/// messages, its summaries and an end mark, then the SHA-256 of the gzip bytes (gzip's own trailer is not checked
/// when it is cut short). Binary rather than JSON because it is read on the path of a SELECT
/// (10,000 summaries parse in tens of milliseconds). Anything unexpected (another version, a truncated or damaged
/// blob) reads as no index, never as a wrong one that parses.
/// </summary>
public static class FolderIndexFormat
{
    private const byte Version = 1;
    private const int HashBytes = 32;
    private const int EndMark = 0x58494D43; // "CMIX"
    private static ReadOnlySpan<byte> Magic => "MCIX"u8;

    /// <summary>Far more than any folder holds; a count above it is damage, not a folder.</summary>
    private const int MaxEntries = 10_000_000;

    /// <summary>Header blocks and prefixes kept in rows are far smaller (a table column holds 64 KiB).</summary>
    private const int MaxBytes = 1 << 20;

    public static byte[] Write(StoredFolderIndex index)
    {
        using var buffer = new MemoryStream();
        buffer.Write(Magic);
        buffer.WriteByte(Version);
        using var plain = new MemoryStream();
        using (var w = new BinaryWriter(plain, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(index.UidValidity);
            w.Write(index.HighestModSeq);
            w.Write(index.UidNext);
            w.Write(index.Messages.Count);
            foreach (var m in index.Messages)
            {
                w.Write(m.Uid);
                w.Write(m.Size);
                w.Write(m.Blob);
                w.Write(m.MessageId);
                w.Write(m.Flags);
                w.Write(m.ModSeq);
                WriteDate(w, m.InternalDate);
            }
            w.Write(index.Summaries.Count);
            foreach (var s in index.Summaries)
            {
                w.Write(s.Uid);
                w.Write(s.Blob);
                w.Write(s.Size);
                WriteDate(w, s.InternalDate);
                w.Write(s.MessageId);
                WriteText(w, s.Envelope);
                WriteText(w, s.Body);
                WriteText(w, s.BodyStructure);
                WriteText(w, s.Parts);
                WriteBytes(w, s.Header);
                WriteBytes(w, s.Prefix);
                w.Write(s.SummaryTruncated);
                WriteText(w, s.Subject);
                WriteText(w, s.From);
                WriteText(w, s.To);
                WriteText(w, s.Cc);
                w.Write(s.Date.HasValue);
                if (s.Date is { } date)
                    WriteDate(w, date);
            }
            w.Write(EndMark);
        }
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(plain.GetBuffer(), 0, (int)plain.Length);
        var hash = SHA256.HashData(buffer.GetBuffer().AsSpan(Magic.Length + 1, (int)buffer.Length - Magic.Length - 1));
        buffer.Write(hash);
        return buffer.ToArray();
    }

    public static bool TryRead(ReadOnlySpan<byte> bytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoredFolderIndex? index)
    {
        index = null;
        if (bytes.Length < Magic.Length + 1 + HashBytes || !bytes[..Magic.Length].SequenceEqual(Magic) || bytes[Magic.Length] != Version)
            return false;
        var compressed = bytes[(Magic.Length + 1)..^HashBytes];
        if (!SHA256.HashData(compressed).AsSpan().SequenceEqual(bytes[^HashBytes..]))
            return false;
        try
        {
            // Inflated whole first: BinaryReader's small reads straight from a GZipStream cost several times the parse.
            using var plain = new MemoryStream();
            using (var gzip = new GZipStream(new MemoryStream(compressed.ToArray()), CompressionMode.Decompress))
                gzip.CopyTo(plain);
            plain.Position = 0;
            using var r = new BinaryReader(plain, Encoding.UTF8);
            long uidValidity = r.ReadInt64(), highestModSeq = r.ReadInt64(), uidNext = r.ReadInt64();
            var messages = new MailboxMessage[Count(r)];
            for (int i = 0; i < messages.Length; i++)
                messages[i] = new MailboxMessage(r.ReadInt64(), r.ReadInt64(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt64(), ReadDate(r));
            var summaries = new MessageDetails[Count(r)];
            for (int i = 0; i < summaries.Length; i++)
            {
                summaries[i] = new MessageDetails(r.ReadInt64(), r.ReadString())
                {
                    Size = r.ReadInt64(),
                    InternalDate = ReadDate(r),
                    MessageId = r.ReadString(),
                    Envelope = ReadText(r),
                    Body = ReadText(r),
                    BodyStructure = ReadText(r),
                    Parts = ReadText(r),
                    Header = ReadBytes(r),
                    Prefix = ReadBytes(r),
                    SummaryTruncated = r.ReadBoolean(),
                    Subject = ReadText(r),
                    From = ReadText(r),
                    To = ReadText(r),
                    Cc = ReadText(r),
                    Date = r.ReadBoolean() ? ReadDate(r) : null,
                };
            }
            if (r.ReadInt32() != EndMark || plain.Position != plain.Length)
                return false;
            index = new StoredFolderIndex(uidValidity, highestModSeq, uidNext, messages, summaries);
            return true;
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or IOException or ArgumentException or FormatException or OverflowException)
        {
            return false;
        }
    }

    private static int Count(BinaryReader r)
    {
        var count = r.ReadInt32();
        return count is >= 0 and <= MaxEntries ? count : throw new InvalidDataException("entry count out of range");
    }

    private static void WriteDate(BinaryWriter w, DateTimeOffset date)
    {
        w.Write(date.Ticks);
        w.Write((short)date.Offset.TotalMinutes);
    }

    private static DateTimeOffset ReadDate(BinaryReader r)
    {
        var ticks = r.ReadInt64();
        return new DateTimeOffset(ticks, TimeSpan.FromMinutes(r.ReadInt16()));
    }

    private static void WriteText(BinaryWriter w, string? text)
    {
        w.Write(text is not null);
        if (text is not null)
            w.Write(text);
    }

    private static string? ReadText(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;

    private static void WriteBytes(BinaryWriter w, byte[]? bytes)
    {
        w.Write(bytes?.Length ?? -1);
        if (bytes is not null)
            w.Write(bytes);
    }

    private static byte[]? ReadBytes(BinaryReader r)
    {
        var length = r.ReadInt32();
        if (length < 0)
            return null;
        if (length > MaxBytes)
            throw new InvalidDataException("byte string out of range");
        var bytes = r.ReadBytes(length);
        return bytes.Length == length ? bytes : throw new EndOfStreamException();
    }
}
