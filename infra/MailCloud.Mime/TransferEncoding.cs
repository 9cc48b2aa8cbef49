namespace MailCloud.Mime;

/// <summary>Content-Transfer-Encoding decoders (tolerant of real-world damage) and encoders.</summary>
public static class TransferEncoding
{
    /// <summary>Decodes base64, skipping characters outside the alphabet and ignoring a broken tail.</summary>
    public static byte[] DecodeBase64(ReadOnlySpan<byte> input)
    {
        var output = new byte[input.Length * 3 / 4 + 3];
        int o = 0, bits = 0, acc = 0;
        foreach (var b in input)
        {
            int v = b switch
            {
                >= (byte)'A' and <= (byte)'Z' => b - 'A',
                >= (byte)'a' and <= (byte)'z' => b - 'a' + 26,
                >= (byte)'0' and <= (byte)'9' => b - '0' + 52,
                (byte)'+' or (byte)'-' => 62,
                (byte)'/' or (byte)'_' => 63,
                (byte)'=' => -2,
                _ => -1,
            };
            if (v == -2)
                break; // padding: the data is over
            if (v < 0)
                continue;
            acc = (acc << 6) | v;
            bits += 6;
            if (bits >= 8)
            {
                bits -= 8;
                output[o++] = (byte)(acc >> bits);
                acc &= (1 << bits) - 1;
            }
        }
        return output.AsSpan(0, o).ToArray();
    }

    /// <summary>
    /// Decodes quoted-printable: soft line breaks removed, bad escapes kept literally, and whitespace at the end of a
    /// line deleted (RFC 2045 6.7 rule 3: transports add it; encoded whitespace such as "=20" stays).
    /// </summary>
    public static byte[] DecodeQuotedPrintable(ReadOnlySpan<byte> input)
    {
        var output = new byte[input.Length];
        int o = 0;
        int trailing = -1; // where the run of literal spaces and tabs just written began
        for (int i = 0; i < input.Length; i++)
        {
            byte b = input[i];
            if (b is (byte)'\r' or (byte)'\n')
            {
                if (trailing >= 0)
                    o = trailing;
                trailing = -1;
                output[o++] = b;
                continue;
            }
            if (b is (byte)' ' or (byte)'\t')
            {
                if (trailing < 0)
                    trailing = o;
                output[o++] = b;
                continue;
            }
            trailing = -1;
            if (b != (byte)'=')
            {
                output[o++] = b;
                continue;
            }
            // Soft line break: "=" followed by optional whitespace then CRLF or LF.
            int j = i + 1;
            while (j < input.Length && input[j] is (byte)' ' or (byte)'\t')
                j++;
            if (j < input.Length && input[j] == (byte)'\r' && j + 1 < input.Length && input[j + 1] == (byte)'\n')
            {
                i = j + 1;
                continue;
            }
            if (j < input.Length && input[j] == (byte)'\n')
            {
                i = j;
                continue;
            }
            if (j >= input.Length)
            {
                i = j;
                continue;
            }
            if (i + 2 < input.Length && IsHex(input[i + 1]) && IsHex(input[i + 2]))
            {
                output[o++] = (byte)(Hex(input[i + 1]) << 4 | Hex(input[i + 2]));
                i += 2;
                continue;
            }
            output[o++] = b; // a stray "=": keep it, as other decoders do
        }
        if (trailing >= 0)
            o = trailing;
        return output.AsSpan(0, o).ToArray();
    }

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'A' and <= (byte)'F' or >= (byte)'a' and <= (byte)'f';
    private static int Hex(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;

    /// <summary>Decodes a body by its Content-Transfer-Encoding (7bit, 8bit, binary and unknown ones pass through).</summary>
    public static byte[] Decode(ReadOnlySpan<byte> body, string? encoding) => (encoding ?? "7bit").Trim().ToLowerInvariant() switch
    {
        "base64" => DecodeBase64(body),
        "quoted-printable" => DecodeQuotedPrintable(body),
        _ => body.ToArray(),
    };

    /// <summary>base64 in lines of 76 characters, CRLF-terminated.</summary>
    public static string EncodeBase64(ReadOnlySpan<byte> data)
    {
        var b64 = Convert.ToBase64String(data);
        var sb = new System.Text.StringBuilder(b64.Length + b64.Length / 76 * 2 + 2);
        for (int i = 0; i < b64.Length; i += 76)
            sb.Append(b64, i, Math.Min(76, b64.Length - i)).Append("\r\n");
        return sb.ToString();
    }

    /// <summary>Quoted-printable for text (lines kept, trailing whitespace and non-ASCII escaped, soft breaks at 76).</summary>
    public static string EncodeQuotedPrintable(ReadOnlySpan<byte> data)
    {
        var sb = new System.Text.StringBuilder(data.Length * 2);
        int lineLength = 0;
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            if (b == (byte)'\r' && i + 1 < data.Length && data[i + 1] == (byte)'\n')
            {
                sb.Append("\r\n");
                i++;
                lineLength = 0;
                continue;
            }
            bool atLineEnd = i + 1 >= data.Length || data[i + 1] == (byte)'\r';
            string token = b is (byte)'=' or > 126 or < 32 && b != (byte)'\t' || (b is (byte)' ' or (byte)'\t' && atLineEnd) || (b == (byte)'.' && lineLength == 0)
                ? "=" + b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)
                : ((char)b).ToString();
            if (lineLength + token.Length > 75)
            {
                sb.Append("=\r\n");
                lineLength = 0;
            }
            sb.Append(token);
            lineLength += token.Length;
        }
        return sb.ToString();
    }
}
