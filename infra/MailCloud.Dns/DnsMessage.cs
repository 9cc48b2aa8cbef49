using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace MailCloud.Dns;

public enum DnsType : ushort
{
    A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28, OPT = 41, TLSA = 52,
}

/// <summary>The response code; NXDOMAIN, no data (NoError with no answers) and SERVFAIL mean different things to mail.</summary>
public enum DnsStatus
{
    NoError = 0, FormatError = 1, ServerFailure = 2, NameError = 3, NotImplemented = 4, Refused = 5,

    /// <summary>No server answered in time (not an RCODE).</summary>
    Timeout = 100,
}

/// <summary>One resource record; <see cref="Data"/> is the decoded form for the types we use.</summary>
public sealed record DnsRecord(string Name, DnsType Type, uint Ttl, object Data);

public sealed record MxData(ushort Preference, string Exchange);
public sealed record SoaData(string MName, string RName, uint Minimum);
public sealed record TlsaData(byte Usage, byte Selector, byte MatchingType, byte[] Certificate);

/// <summary>DNS wire format (RFC 1035, EDNS0 per RFC 6891): building queries and reading responses with name compression.</summary>
internal static class DnsMessage
{
    public static byte[] BuildQuery(ushort id, string name, DnsType type, ushort udpSize = 1232)
    {
        var buffer = new List<byte>(64);
        void U16(int v) { buffer.Add((byte)(v >> 8)); buffer.Add((byte)v); }
        U16(id);
        U16(0x0100); // RD
        U16(1);
        U16(0);
        U16(0);
        U16(udpSize > 0 ? 1 : 0);
        WriteName(buffer, name);
        U16((int)type);
        U16(1); // IN
        if (udpSize > 0)
        {
            buffer.Add(0); // root
            U16((int)DnsType.OPT);
            U16(udpSize);
            U16(0);
            U16(0);
            U16(0);
        }
        return [.. buffer];
    }

    private static void WriteName(List<byte> buffer, string name)
    {
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var bytes = Encoding.ASCII.GetBytes(label);
            if (bytes.Length > 63)
                throw new ArgumentException($"DNS label too long in '{name}'", nameof(name));
            buffer.Add((byte)bytes.Length);
            buffer.AddRange(bytes);
        }
        buffer.Add(0);
    }

    public sealed record Response(ushort Id, bool Truncated, DnsStatus Status, List<DnsRecord> Answers, List<DnsRecord> Authority);

    public static Response Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < 12)
            throw new FormatException("DNS response shorter than its header");
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(data);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        int qd = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        int an = BinaryPrimitives.ReadUInt16BigEndian(data[6..]);
        int ns = BinaryPrimitives.ReadUInt16BigEndian(data[8..]);
        int pos = 12;
        for (int i = 0; i < qd; i++)
        {
            ReadName(data, ref pos);
            pos += 4;
        }
        var answers = new List<DnsRecord>();
        var authority = new List<DnsRecord>();
        for (int i = 0; i < an + ns; i++)
        {
            var name = ReadName(data, ref pos);
            var type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(data[pos..]);
            uint ttl = BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 4)..]);
            int rdlength = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 8)..]);
            pos += 10;
            if (pos + rdlength > data.Length)
                throw new FormatException("DNS record runs past the end of the message");
            object? rdata = type switch
            {
                DnsType.A or DnsType.AAAA => new IPAddress(data.Slice(pos, rdlength)),
                DnsType.MX => new MxData(BinaryPrimitives.ReadUInt16BigEndian(data[pos..]), ReadNameAt(data, pos + 2)),
                DnsType.CNAME or DnsType.PTR or DnsType.NS => ReadNameAt(data, pos),
                DnsType.TXT => ReadTxt(data.Slice(pos, rdlength)),
                DnsType.SOA => ReadSoa(data, pos, rdlength),
                DnsType.TLSA when rdlength >= 3 => new TlsaData(data[pos], data[pos + 1], data[pos + 2], data.Slice(pos + 3, rdlength - 3).ToArray()),
                _ => null,
            };
            if (rdata is not null)
                (i < an ? answers : authority).Add(new DnsRecord(name, type, ttl, rdata));
            pos += rdlength;
        }
        return new Response(id, (flags & 0x0200) != 0, (DnsStatus)(flags & 0x000F), answers, authority);
    }

    private static string ReadTxt(ReadOnlySpan<byte> rdata)
    {
        // The character-strings of one TXT record are joined (SPF, DKIM and DMARC records are split at 255 bytes).
        var sb = new StringBuilder();
        int i = 0;
        while (i < rdata.Length)
        {
            int len = rdata[i++];
            sb.Append(Encoding.UTF8.GetString(rdata.Slice(i, Math.Min(len, rdata.Length - i))));
            i += len;
        }
        return sb.ToString();
    }

    private static SoaData ReadSoa(ReadOnlySpan<byte> data, int pos, int rdlength)
    {
        int p = pos;
        var mname = ReadName(data, ref p);
        var rname = ReadName(data, ref p);
        uint minimum = p + 20 <= pos + rdlength ? BinaryPrimitives.ReadUInt32BigEndian(data[(p + 16)..]) : 0;
        return new SoaData(mname, rname, minimum);
    }

    private static string ReadNameAt(ReadOnlySpan<byte> data, int pos) => ReadName(data, ref pos);

    private static string ReadName(ReadOnlySpan<byte> data, ref int pos)
    {
        var labels = new List<string>();
        int p = pos;
        bool jumped = false;
        for (int hops = 0; hops < 128; hops++)
        {
            if (p >= data.Length)
                throw new FormatException("DNS name runs past the end of the message");
            int len = data[p];
            if (len == 0)
            {
                if (!jumped)
                    pos = p + 1;
                return string.Join('.', labels);
            }
            if ((len & 0xC0) == 0xC0)
            {
                int target = ((len & 0x3F) << 8) | data[p + 1];
                if (!jumped)
                    pos = p + 2;
                jumped = true;
                p = target;
                continue;
            }
            labels.Add(Encoding.ASCII.GetString(data.Slice(p + 1, len)));
            p += len + 1;
        }
        throw new FormatException("DNS name compression loop");
    }
}
