using MailCloud.Core;

namespace MailCloud.Data;

/// <summary>
/// Group commit for adds to one folder (<see cref="GroupCommit{TKey, TItem, TResult}"/>). Every add to a folder is a
/// transaction guarded by the folder row's ETag, so adds that run at once in one process (the pipeline's concurrent
/// work items, a burst to one mailbox, several IMAP sessions appending) would mostly lose the race, read the row
/// again and retry: measured on Azurite, 2,000 messages to one INBOX from 10 SMTP sessions made 7,013 failed
/// transactions besides the 2,000 that landed. Grouped, the adds that arrive while one is in flight go together in
/// the next transaction. Writers in other processes still meet on the ETag and retry as before. An entry whose blob
/// is still being written (APPEND) brings that task: its group's transaction waits for it, and when it fails the
/// group goes again one by one, so only that entry fails.
/// </summary>
public sealed class GroupedMailboxAdds(MailboxWriter writer)
{
    /// <summary>A transaction's 99 actions hold 33 messages that carry a resend row; bigger groups wait for the next.</summary>
    public const int MaxGroup = 33;

    /// <summary>The writer the groups go through, for adds of several entries that are one add of their own.</summary>
    public MailboxWriter Writer { get; } = writer;

    private readonly GroupCommit<(MailAddress User, string Folder, bool Create), (MailboxEntry Entry, Task? ContentWritten), AddedEntry> _groups =
        new((key, items) =>
        {
            var contents = items.Select(i => i.ContentWritten).OfType<Task>().ToList();
            var content = contents.Count switch { 0 => null, 1 => contents[0], _ => Task.WhenAll(contents) };
            return writer.AddAsync(key.User, key.Folder, items.Select(i => i.Entry).ToList(), key.Create, CancellationToken.None, content);
        }, MaxGroup);

    /// <summary>
    /// Adds one entry, committed with any others waiting for the same folder. When the caller stops waiting
    /// (<paramref name="cancellationToken"/>) the commit goes on: a work item given up on is then found already
    /// there by its retry, never added twice.
    /// </summary>
    /// <param name="contentWritten">The entry's blob, when it is still being written: nothing is committed before it is.</param>
    public Task<AddedEntry> AddAsync(MailAddress user, string folder, MailboxEntry entry, bool createFolder, CancellationToken cancellationToken, Task? contentWritten = null) =>
        _groups.AddAsync((user, folder, createFolder), (entry, contentWritten), cancellationToken);
}
