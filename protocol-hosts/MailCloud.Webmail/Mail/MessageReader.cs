using MailCloud.Core;
using MailCloud.Data;

namespace MailCloud.Webmail;

/// <summary>A stored message's bytes by folder and UID: one point read of its row, one read of its blob.</summary>
public sealed class MessageReader(WebmailServices services)
{
    public async Task<(MessageDetails Row, byte[] Bytes)?> ReadAsync(MailAddress user, string folder, long uid, CancellationToken ct)
    {
        var row = await services.Store.GetMessageAsync(user, folder, uid, MessageDetail.Content, ct).ConfigureAwait(false);
        if (row is null)
            return null;
        return (row, await services.Content.ReadAllAsync(row.Blob, row.Prefix, ct).ConfigureAwait(false));
    }

    /// <summary>Renders from a row already read (any detail with the blob and prefix), sparing a second read of it.</summary>
    public async Task<RenderedMessage> RenderAsync(MessageDetails row, CancellationToken ct) =>
        MessageRenderer.Render(await services.Content.ReadAllAsync(row.Blob, row.Prefix, ct).ConfigureAwait(false), services.Options.HostName);

    public async Task<RenderedMessage?> RenderAsync(MailAddress user, string folder, long uid, CancellationToken ct) =>
        await ReadAsync(user, folder, uid, ct).ConfigureAwait(false) is { } m ? MessageRenderer.Render(m.Bytes, services.Options.HostName) : null;
}
