using System.Text;

namespace MailCloud.Smtp;

/// <summary>
/// A reply: code, enhanced status code (RFC 3463; null where RFC 2034 leaves it out: greeting, HELO/EHLO, 3xx)
/// and one or more text lines.
/// </summary>
public sealed record SmtpReply(int Code, string? Enhanced, params string[] Lines)
{
    public bool IsPositive => Code < 400;

    public byte[] ToBytes()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < Lines.Length; i++)
        {
            sb.Append(Code).Append(i == Lines.Length - 1 ? ' ' : '-');
            if (Enhanced is not null)
                sb.Append(Enhanced).Append(' ');
            sb.Append(Lines[i]).Append("\r\n");
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public override string ToString() => Encoding.UTF8.GetString(ToBytes()).TrimEnd();

    // The replies used in more than one place, by meaning.
    public static readonly SmtpReply Ok = new(250, "2.0.0", "Ok");
    public static readonly SmtpReply SyntaxError = new(500, "5.5.2", "Syntax error, command unrecognized");
    public static readonly SmtpReply LineTooLong = new(500, "5.5.2", "Line too long");
    public static readonly SmtpReply BadSequence = new(503, "5.5.1", "Bad sequence of commands");
    public static readonly SmtpReply NotImplemented = new(502, "5.5.1", "Command not implemented");
    public static readonly SmtpReply AuthRequired = new(530, "5.7.0", "Authentication required");
    public static readonly SmtpReply EncryptionRequired = new(538, "5.7.11", "Encryption required for requested authentication mechanism");
    public static readonly SmtpReply AuthFailed = new(535, "5.7.8", "Authentication credentials invalid");
    public static readonly SmtpReply AuthSucceeded = new(235, "2.7.0", "Authentication successful");
    public static readonly SmtpReply TooManyErrors = new(421, "4.7.0", "Too many errors, closing connection");
    public static readonly SmtpReply Timeout = new(421, "4.4.2", "Timeout, closing connection");
    public static readonly SmtpReply StorageFailure = new(451, "4.3.0", "Temporary storage failure, please try again later");
    public static readonly SmtpReply ShuttingDown = new(421, "4.3.2", "Service shutting down, try again later");
}
