using Azure.Data.Tables;

namespace MailCloud.Data;

/// <summary>The message row's columns, read in one place: which to select for a <see cref="MessageDetail"/> and how to type them.</summary>
internal static class MessageRows
{
    private static readonly string[] Search = ["Uid", "Subject", "From", "To", "Cc", "Date", "Parts", "Blob", "Header", "Prefix"];

    // A superset of Search (the few short search columns ride along), so a folder whose summaries a FETCH has
    // cached answers SEARCH from memory as well, without a second read of every row.
    private static readonly string[] Summary = ["Uid", "Envelope", "Body", "BodyStructure", "Parts", "Blob", "SummaryTruncated", "Header", "Prefix", "Subject", "From", "To", "Cc", "Date"];
    private static readonly string[] Content = ["Uid", "Blob", "Size", "Prefix"];
    private static readonly string[] Listing = ["Uid", "Flags", "ModSeq", "Size", "InternalDate", "Subject", "From", "To", "Date", "Header", "Blob", "MessageId", "Prefix"];

    /// <summary>The columns to select; null (all) for a copy, which carries every summary column over.</summary>
    public static IEnumerable<string>? Columns(MessageDetail detail) => detail switch
    {
        MessageDetail.Summary => Summary,
        MessageDetail.Search => Search,
        MessageDetail.Content => Content,
        MessageDetail.Listing => Listing,
        _ => null,
    };

    /// <summary>Whether the detail's columns hold the message's flags (which then need the folder's flag runs).</summary>
    public static bool HasFlags(MessageDetail detail) => detail is MessageDetail.Listing or MessageDetail.Copy;

    public static MessageDetails Read(TableEntity e, MessageDetail detail, IReadOnlyList<FlagRun> runs) => new(e.ReadInt64("Uid") ?? 0, e.ReadString("Blob") ?? string.Empty)
    {
        Size = e.ReadInt64("Size") ?? 0,
        InternalDate = e.ReadDate("InternalDate") ?? default,
        Flags = MailboxStore.Composed(runs, e).Flags,
        MessageId = e.ReadString("MessageId") ?? string.Empty,
        Envelope = e.ReadString("Envelope"),
        Body = e.ReadString("Body"),
        BodyStructure = e.ReadString("BodyStructure"),
        Parts = e.ReadString("Parts"),
        Header = e.ReadBinary("Header"),
        Prefix = e.ReadBinary("Prefix"),
        SummaryTruncated = e.ReadBoolean("SummaryTruncated") == true,
        Subject = e.ReadString("Subject"),
        From = e.ReadString("From"),
        To = e.ReadString("To"),
        Cc = e.ReadString("Cc"),
        Date = e.ReadDate("Date"),
        CopyColumns = detail == MessageDetail.Copy ? MailboxWriter.CopyProperties(e) : new Dictionary<string, object?>(),
    };
}
