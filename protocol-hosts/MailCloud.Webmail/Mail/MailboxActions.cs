using MailCloud.Core;
using MailCloud.Data;
using Microsoft.Extensions.Logging;

namespace MailCloud.Webmail;

/// <summary>A folder operation the webmail refuses, with the reason shown to the user.</summary>
public sealed class MailboxActionException(string message) : Exception(message);

/// <summary>
/// What the webmail changes in a mailbox, with the same store calls and the same effects as the IMAP commands
/// (STORE, MOVE, EXPUNGE, CREATE, RENAME, DELETE): a move into or out of Junk is reported for spam training as
/// over IMAP, and every change is published on the change hub, so IMAP sessions in IDLE hear of it at once.
/// </summary>
public sealed class MailboxActions(WebmailServices services, ILogger<MailboxActions> logger)
{
    private IMailboxStore Store => services.Store;

    public async Task SetFlagAsync(MailAddress user, string folder, IReadOnlyList<long> uids, string flag, bool on, CancellationToken ct)
    {
        if (uids.Count == 0)
            return;
        await Store.UpdateFlagsAsync(user, folder, uids, on ? FlagEdit.Add(flag) : FlagEdit.Remove(flag), cancellationToken: ct).ConfigureAwait(false);
        services.Changes.Publish(user, folder);
    }

    /// <summary>Copies the messages into <paramref name="target"/> (same blobs, new UIDs) and removes them from <paramref name="folder"/>.</summary>
    public async Task MoveAsync(MailAddress user, string folder, IReadOnlyList<long> uids, string target, CancellationToken ct)
    {
        if (uids.Count == 0 || folder == target)
            return;
        if (await Store.GetFolderAsync(user, target, ct).ConfigureAwait(false) is null)
            throw new MailboxActionException($"There is no folder {target}.");
        var rows = await RowsAsync(user, folder, uids, ct).ConfigureAwait(false);
        if (rows.Count == 0)
            return;
        var now = DateTimeOffset.UtcNow;
        foreach (var chunk in rows.Chunk(50))
            await Store.AddAsync(user, target, chunk.Select(r => r.CopyAs(MessageIds.New(now))).ToList(), createFolder: false, ct).ConfigureAwait(false);
        await Store.ExpungeAsync(user, folder, rows.Select(r => new MailboxMessage(r.Uid, r.Size, r.Blob, r.MessageId, r.Flags)).ToList(), ct).ConfigureAwait(false);
        services.Changes.Publish(user, target);
        services.Changes.Publish(user, folder);
        if (JunkMoves.Judgement(MailboxWriter.SpecialUse(folder) == @"\Junk", MailboxWriter.SpecialUse(target)) is { } spam)
            await ReportAsync(user, rows.Select(r => r.Blob).ToList(), spam).ConfigureAwait(false);
    }

    /// <summary>Delete: into Trash, or for good when already in Trash.</summary>
    public async Task DeleteAsync(MailAddress user, string folder, IReadOnlyList<long> uids, CancellationToken ct)
    {
        if (MailboxWriter.SpecialUse(folder) == @"\Trash")
            await ExpungeAsync(user, folder, uids, ct).ConfigureAwait(false);
        else
            await MoveAsync(user, folder, uids, "Trash", ct).ConfigureAwait(false);
    }

    public Task JunkAsync(MailAddress user, string folder, IReadOnlyList<long> uids, CancellationToken ct) => MoveAsync(user, folder, uids, "Junk", ct);

    /// <summary>Removes every message of the folder (Empty Trash, Empty Junk); returns how many.</summary>
    public async Task<int> EmptyAsync(MailAddress user, string folder, CancellationToken ct)
    {
        var snapshot = await Store.OpenAsync(user, folder, ct).ConfigureAwait(false);
        await ExpungeAsync(user, folder, snapshot.Messages.Select(m => m.Uid).ToList(), ct).ConfigureAwait(false);
        return snapshot.Messages.Count;
    }

    public async Task ExpungeAsync(MailAddress user, string folder, IReadOnlyList<long> uids, CancellationToken ct)
    {
        if (uids.Count == 0)
            return;
        await Store.ExpungeAsync(user, folder, uids.Select(u => new MailboxMessage(u, 0, string.Empty, string.Empty, string.Empty)).ToList(), ct).ConfigureAwait(false);
        services.Changes.Publish(user, folder);
    }

    public async Task CreateFolderAsync(MailAddress user, string name, CancellationToken ct)
    {
        name = ValidName(name);
        if (!await Store.CreateFolderAsync(user, name, ct).ConfigureAwait(false))
            throw new MailboxActionException($"A folder named {name} already exists.");
    }

    public async Task RenameFolderAsync(MailAddress user, string from, string to, CancellationToken ct)
    {
        Unprotected(from);
        to = ValidName(to);
        if (await Store.GetFolderAsync(user, to, ct).ConfigureAwait(false) is not null)
            throw new MailboxActionException($"A folder named {to} already exists.");
        await Store.RenameFolderAsync(user, from, to, ct).ConfigureAwait(false);
        services.Changes.Publish(user, from);
    }

    public async Task DeleteFolderAsync(MailAddress user, string name, CancellationToken ct)
    {
        Unprotected(name);
        if (!await Store.DeleteFolderAsync(user, name, ct).ConfigureAwait(false))
            throw new MailboxActionException($"There is no folder {name}.");
        services.Changes.Publish(user, name);
    }

    /// <summary>The rows a copy needs: point reads for a few messages, one range read for many.</summary>
    private async Task<List<MessageDetails>> RowsAsync(MailAddress user, string folder, IReadOnlyList<long> uids, CancellationToken ct)
    {
        var wanted = uids.ToHashSet();
        var rows = new List<MessageDetails>();
        if (wanted.Count <= 8)
        {
            foreach (var row in await Task.WhenAll(wanted.Select(u => Store.GetMessageAsync(user, folder, u, MessageDetail.Copy, ct))).ConfigureAwait(false))
            {
                if (row is not null)
                    rows.Add(row);
            }
        }
        else
        {
            await foreach (var row in Store.QueryMessagesAsync(user, folder, wanted.Min(), wanted.Max(), MessageDetail.Copy, ct).ConfigureAwait(false))
            {
                if (wanted.Contains(row.Uid))
                    rows.Add(row);
            }
        }
        return rows.OrderBy(r => r.Uid).ToList();
    }

    private async Task ReportAsync(MailAddress user, List<string> blobs, bool spam)
    {
        try
        {
            await services.Training.ReportAsync(user, blobs, spam).ConfigureAwait(false);
        }
        catch (Exception e) when (Storage.StorageErrors.IsStorageFailure(e))
        {
            logger.LogWarning("{User}: {Count} {Kind} report(s) not queued: {Error}", user, blobs.Count, spam ? "spam" : "ham", e.Message);
        }
    }

    private static void Unprotected(string name)
    {
        if (name == "INBOX" || MailboxWriter.SpecialUse(name) is not null)
            throw new MailboxActionException($"{name} is a standard folder and cannot be renamed or deleted.");
    }

    private static string ValidName(string name)
    {
        name = name.Trim();
        if (name.Length is 0 or > 200 || name.Equals("INBOX", StringComparison.OrdinalIgnoreCase) || name.Any(c => char.IsControl(c) || c is '*' or '%' or '"' or '\\')
            || name.StartsWith('/') || name.EndsWith('/') || name.Contains("//", StringComparison.Ordinal))
            throw new MailboxActionException("Folder names are 1–200 characters, without * % \" \\ or control characters; / separates levels.");
        return name;
    }
}
