namespace MailCloud.Dns;

public enum DnsType : ushort
{
    A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28, TLSA = 52,
}

/// <summary>The response code; NXDOMAIN, no data (NoError with no answers) and SERVFAIL mean different things to mail.</summary>
public enum DnsStatus
{
    NoError = 0, FormatError = 1, ServerFailure = 2, NameError = 3, NotImplemented = 4, Refused = 5,

    /// <summary>No server answered in time (not an RCODE).</summary>
    Timeout = 100,
}

/// <summary>One resource record; <see cref="Data"/> is the decoded form: IPAddress (A/AAAA), string (TXT joined, PTR/CNAME/NS names), <see cref="MxData"/>, <see cref="SoaData"/>, <see cref="TlsaData"/>.</summary>
public sealed record DnsRecord(string Name, DnsType Type, uint Ttl, object Data);

public sealed record MxData(ushort Preference, string Exchange);
public sealed record SoaData(string MName, string RName, uint Minimum);
public sealed record TlsaData(byte Usage, byte Selector, byte MatchingType, byte[] Certificate);
