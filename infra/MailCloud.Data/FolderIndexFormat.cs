using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace MailCloud.Data;

/// <summary>
/// The bytes of a <see cref="StoredFolderIndex"/>: "MCIX", a version byte, the length of the list section, the list
/// section (gzip of the folder's state, its messages and an end mark), the summaries section (gzip of the summaries
/// and an end mark), then the SHA-256 of everything after the version byte (gzip's own trailer is not checked when it
/// is cut short). Two sections so that a SELECT inflates and parses only the list; the summaries stay compressed
/// until a FETCH or SEARCH first needs them (<see cref="PackedSummaries"/>). Binary rather than JSON because it is
/// read on the path of a SELECT. Anything unexpected (another version, a truncated or damaged blob) reads as no
/// index, never as a wrong one that parses.
/// </summary>
public static class FolderIndexFormat
{
    private const byte Version = 2;
    private const int HashBytes = 32;
    internal const int EndMark = 0x58494D43; // "CMIX"
    private static ReadOnlySpan<byte> Magic => "MCIX"u8;
    private static int HeaderBytes => Magic.Length + 1;

    /// <summary>Far more than any folder holds; a count above it is damage, not a folder.</summary>
    internal const int MaxEntries = 10_000_000;

    /// <summary>Header blocks and prefixes kept in rows are far smaller (a table column holds 64 KiB).</summary>
    private const int MaxBytes = 1 << 20;

    public static byte[] Write(StoredFolderIndex index)
    {
        var list = Compress(w =>
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
            w.Write(EndMark);
        });
        var summaries = Compress(w =>
        {
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
        });
        var bytes = new byte[HeaderBytes + 4 + list.Length + summaries.Length + HashBytes];
        Magic.CopyTo(bytes);
        bytes[Magic.Length] = Version;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(HeaderBytes), list.Length);
        list.CopyTo(bytes, HeaderBytes + 4);
        summaries.CopyTo(bytes, HeaderBytes + 4 + list.Length);
        SHA256.HashData(bytes.AsSpan(HeaderBytes, bytes.Length - HeaderBytes - HashBytes), bytes.AsSpan(bytes.Length - HashBytes));
        return bytes;
    }

    /// <summary>
    /// The list section parsed; the summaries come back compressed in <see cref="StoredFolderIndex.Packed"/> (and
    /// <see cref="StoredFolderIndex.Summaries"/> empty).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoredFolderIndex? index)
    {
        index = null;
        if (bytes.Length < HeaderBytes + 4 + HashBytes || !bytes[..Magic.Length].SequenceEqual(Magic) || bytes[Magic.Length] != Version)
            return false;
        if (!SHA256.HashData(bytes[HeaderBytes..^HashBytes]).AsSpan().SequenceEqual(bytes[^HashBytes..]))
            return false;
        var sections = bytes[(HeaderBytes + 4)..^HashBytes];
        int listLength = BinaryPrimitives.ReadInt32LittleEndian(bytes[HeaderBytes..]);
        if (listLength < 0 || listLength > sections.Length)
            return false;
        try
        {
            using var r = Inflate(sections[..listLength].ToArray());
            long uidValidity = r.ReadInt64(), highestModSeq = r.ReadInt64(), uidNext = r.ReadInt64();
            var messages = new MailboxMessage[Count(r)];
            for (int i = 0; i < messages.Length; i++)
                messages[i] = new MailboxMessage(r.ReadInt64(), r.ReadInt64(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt64(), ReadDate(r));
            if (!Ended(r))
                return false;
            index = new StoredFolderIndex(uidValidity, highestModSeq, uidNext, messages, []) { Packed = new PackedSummaries(sections[listLength..].ToArray()) };
            return true;
        }
        catch (Exception e) when (IsDamage(e))
        {
            return false;
        }
    }

    /// <summary>The summaries section (see <see cref="PackedSummaries.TryRead"/>).</summary>
    internal static bool TryReadSummaries(byte[] compressed, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IReadOnlyList<MessageDetails>? read)
    {
        read = null;
        try
        {
            using var r = Inflate(compressed);
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
            if (!Ended(r))
                return false;
            read = summaries;
            return true;
        }
        catch (Exception e) when (IsDamage(e))
        {
            return false;
        }
    }

    private static bool IsDamage(Exception e) => e is EndOfStreamException or InvalidDataException or IOException or ArgumentException or FormatException or OverflowException;

    private static bool Ended(BinaryReader r) => r.ReadInt32() == EndMark && r.BaseStream.Position == r.BaseStream.Length;

    private static byte[] Compress(Action<BinaryWriter> write)
    {
        using var plain = new MemoryStream();
        using (var w = new BinaryWriter(plain, Encoding.UTF8, leaveOpen: true))
            write(w);
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(plain.GetBuffer(), 0, (int)plain.Length);
        return compressed.ToArray();
    }

    /// <summary>Inflated whole first: BinaryReader's small reads straight from a GZipStream cost several times the parse.</summary>
    private static BinaryReader Inflate(byte[] compressed)
    {
        var plain = new MemoryStream();
        using (var gzip = new GZipStream(new MemoryStream(compressed, writable: false), CompressionMode.Decompress))
            gzip.CopyTo(plain);
        plain.Position = 0;
        return new BinaryReader(plain, Encoding.UTF8);
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

/// <summary>
/// A stored index's summaries, still compressed: inflated and parsed the first time a FETCH or SEARCH of the folder
/// needs them, so a SELECT after a restart parses only the list. Covered by the index's hash like the list.
/// </summary>
public sealed class PackedSummaries(byte[] compressed)
{
    /// <summary>Bytes held until they are read.</summary>
    public int Length => compressed.Length;

    /// <summary>The summaries; false when they do not parse (they are then read from the rows as needed).</summary>
    public bool TryRead([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IReadOnlyList<MessageDetails>? summaries) =>
        FolderIndexFormat.TryReadSummaries(compressed, out summaries);
}
