using System.Text;

namespace MailCloud.Mime;

/// <summary>Charset names to encodings, with the legacy code pages registered once (windows-125x, iso-2022-jp, koi8-r, ...).</summary>
public static class Charsets
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    static Charsets() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    /// <summary>The encoding for a MIME charset name, or null when .NET has none by that name.</summary>
    public static Encoding? Get(string? charset)
    {
        if (string.IsNullOrWhiteSpace(charset))
            return null;
        var name = charset.Trim().Trim('"');
        // RFC 2231 may attach a language: "utf-8*en".
        int star = name.IndexOf('*', StringComparison.Ordinal);
        if (star > 0)
            name = name[..star];
        switch (name.ToLowerInvariant())
        {
            case "utf8":
                return Encoding.UTF8;
            case "us-ascii" or "ascii" or "ansi_x3.4-1968":
                return Encoding.Latin1; // real-world "us-ascii" mail carries 8-bit bytes; never lose them
            case "latin1" or "iso-8859-1" or "iso8859-1" or "l1":
                return Encoding.Latin1;
            case "ks_c_5601-1987":
                name = "ks_c_5601-1987";
                break;
            case "x-unknown" or "unknown-8bit" or "x-user-defined":
                return Encoding.Latin1;
            case "utf-7" or "utf7" or "unicode-1-1-utf-7":
                // Encoding.GetEncoding refuses UTF-7 (SYSLIB0001) and that refusal once escaped the parser (found by
                // afl++). Mail still arrives in it, and readers decode it; what is shown is sanitized after decoding.
#pragma warning disable SYSLIB0001
                return new UTF7Encoding();
#pragma warning restore SYSLIB0001
        }
        try
        {
            return Encoding.GetEncoding(name);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Decodes bytes in the named charset; unknown charsets fall back to UTF-8 if valid, else Latin-1.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string? charset)
    {
        var encoding = Get(charset);
        return encoding is not null ? encoding.GetString(bytes) : DecodeUnlabelled(bytes);
    }

    /// <summary>Raw 8-bit text with no charset (headers, RFC 6532): UTF-8 when it is valid UTF-8, else Latin-1.</summary>
    public static string DecodeUnlabelled(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (b >= 0x80)
            {
                try
                {
                    return StrictUtf8.GetString(bytes);
                }
                catch (DecoderFallbackException)
                {
                    return Encoding.Latin1.GetString(bytes);
                }
            }
        }
        return Encoding.ASCII.GetString(bytes);
    }
}
