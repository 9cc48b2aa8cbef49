using MailCloud.Core;
using MailCloud.Data;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace MailCloud.Webmail.Pages;

public sealed class ComposeModel(Composer composer, WebmailServices services) : MailPageModel
{
    [BindProperty] public string From { get; set; } = string.Empty;
    [BindProperty] public string To { get; set; } = string.Empty;
    [BindProperty] public string Cc { get; set; } = string.Empty;
    [BindProperty] public string Bcc { get; set; } = string.Empty;
    [BindProperty] public string Subject { get; set; } = string.Empty;
    [BindProperty] public string Text { get; set; } = string.Empty;
    [BindProperty] public string? Html { get; set; }
    [BindProperty] public bool Rich { get; set; }
    [BindProperty] public List<string> Uploads { get; set; } = [];
    [BindProperty] public string? InReplyTo { get; set; }
    [BindProperty] public string? References { get; set; }
    [BindProperty] public string? SourceFolder { get; set; }
    [BindProperty] public long? SourceUid { get; set; }
    [BindProperty] public List<int> SourceParts { get; set; } = [];
    [BindProperty] public string? AttachFolder { get; set; }
    [BindProperty] public long? AttachUid { get; set; }
    [BindProperty] public string? OriginalFolder { get; set; }
    [BindProperty] public long? OriginalUid { get; set; }
    [BindProperty] public bool IsForward { get; set; }
    [BindProperty] public long? DraftUid { get; set; }

    public IReadOnlyList<MailAddress> Sendable { get; private set; } = [];
    public IReadOnlyList<AttachmentInfo> SourceAttachments { get; private set; } = [];
    public IReadOnlyList<UploadInfo> Uploaded { get; private set; } = [];
    public string? AttachedMessage { get; private set; }
    public long MaxSize => services.Options.MaxMessageSize;
    public string Heading => DraftUid is not null ? "Draft" : OriginalUid is null ? "New message" : IsForward ? "Forward" : "Reply";

    public async Task<IActionResult> OnGetAsync(string? mode, string? folder, long? uid, string? to)
    {
        var ct = HttpContext.RequestAborted;
        var prefs = await services.Preferences.GetAsync(Me.Address, ct);
        Sendable = await services.Directory.SendableAddressesAsync(Me, ct);
        var kind = mode switch { "reply" => ComposeMode.Reply, "all" => ComposeMode.ReplyAll, "forward" => ComposeMode.Forward, "attach" => ComposeMode.ForwardAttached, "draft" => ComposeMode.Draft, _ => ComposeMode.New };
        Composition c;
        if (kind != ComposeMode.New && folder is not null && uid is { } u)
        {
            try
            {
                var original = await composer.LoadAsync(Me.Address, folder, u, ct);
                c = Replies.For(kind, original, folder, u, Me.Address, Sendable, prefs.Signature);
            }
            catch (CompositionException)
            {
                return NotFound();
            }
        }
        else
        {
            c = new Composition { From = Me.Address.Address, To = to ?? string.Empty, Text = string.IsNullOrWhiteSpace(prefs.Signature) ? string.Empty : "\n\n-- \n" + prefs.Signature.TrimEnd() };
        }
        Load(c);
        await DescribeAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostSendAsync(List<IFormFile> files)
    {
        var ct = HttpContext.RequestAborted;
        Uploads ??= [];
        SourceParts ??= [];
        try
        {
            await StageFilesAsync(files, ct);
            await composer.SendAsync(Me, Current(), ClientAddress, Request.IsHttps, ct);
            return Redirect(FolderLink(OriginalFolder ?? "INBOX") + "&notice=sent");
        }
        catch (CompositionException e)
        {
            Error = e.Message;
            Sendable = await services.Directory.SendableAddressesAsync(Me, ct);
            await DescribeAsync(ct);
            return Page();
        }
    }

    /// <summary>Save to Drafts: from the button (a page again) or from the auto-save script (JSON with the new UID).</summary>
    public async Task<IActionResult> OnPostSaveAsync(List<IFormFile> files)
    {
        var ct = HttpContext.RequestAborted;
        bool script = Request.Headers["X-Requested-With"] == "fetch";
        try
        {
            await StageFilesAsync(files, ct);
            var uid = await composer.SaveDraftAsync(Me, Current(), ct);
            if (script)
            {
                // The draft now carries every attachment: the page points at its parts instead of the uploads.
                var draft = await composer.LoadAsync(Me.Address, "Drafts", uid, ct);
                var parts = Replies.AttachmentParts(draft).Select(p => new { index = p.Index, name = p.FileName, size = MailCloud.Core.ByteSize.Format(p.Size) });
                return new JsonResult(new { uid, attachments = parts });
            }
            return Redirect($"/mail/compose?mode=draft&folder=Drafts&uid={uid}&notice=saved");
        }
        catch (CompositionException e)
        {
            if (script)
                return new JsonResult(new { error = e.Message }) { StatusCode = 422 };
            Error = e.Message;
            Sendable = await services.Directory.SendableAddressesAsync(Me, ct);
            await DescribeAsync(ct);
            return Page();
        }
    }

    /// <summary>Files from the plain file input (no script): stored as uploads like the chunked ones.</summary>
    private async Task StageFilesAsync(List<IFormFile> files, CancellationToken ct)
    {
        foreach (var file in files.Where(f => f.Length > 0))
        {
            if (file.Length > MaxSize)
                throw new CompositionException($"{file.FileName} is larger than the message size limit.");
            var id = UploadStore.NewId();
            await using (var stream = file.OpenReadStream())
            {
                var buffer = new byte[UploadStore.ChunkSize];
                int index = 0, read;
                while ((read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct)) > 0)
                    await services.Uploads.StageAsync(Me.Address, id, index++, new MemoryStream(buffer, 0, read), ct);
                await services.Uploads.CompleteAsync(Me.Address, id, index, Path.GetFileName(file.FileName), file.ContentType, MaxSize, ct);
            }
            Uploads.Add(id);
        }
    }

    private Composition Current() => new()
    {
        // Empty fields bind as null.
        From = From ?? string.Empty, To = To ?? string.Empty, Cc = Cc ?? string.Empty, Bcc = Bcc ?? string.Empty, Subject = Subject ?? string.Empty, Text = Text ?? string.Empty,
        Html = Rich ? Html : null,
        Uploads = Uploads.Where(UploadStore.IsId).Distinct().ToList(),
        InReplyTo = InReplyTo, References = References,
        SourceFolder = SourceFolder, SourceUid = SourceUid, SourceParts = SourceParts,
        AttachFolder = AttachFolder, AttachUid = AttachUid,
        OriginalFolder = OriginalFolder, OriginalUid = OriginalUid, IsForward = IsForward,
        DraftUid = DraftUid,
    };

    private void Load(Composition c)
    {
        (From, To, Cc, Bcc, Subject, Text, Html, Rich) = (c.From, c.To, c.Cc, c.Bcc, c.Subject, c.Text, c.Html, c.Html is not null);
        (InReplyTo, References, SourceFolder, SourceUid, SourceParts) = (c.InReplyTo, c.References, c.SourceFolder, c.SourceUid, c.SourceParts.ToList());
        (AttachFolder, AttachUid, OriginalFolder, OriginalUid, IsForward, DraftUid) = (c.AttachFolder, c.AttachUid, c.OriginalFolder, c.OriginalUid, c.IsForward, c.DraftUid);
    }

    /// <summary>Names of what the message will carry (kept parts of a source message, uploads, an attached message).</summary>
    private async Task DescribeAsync(CancellationToken ct)
    {
        CurrentFolder = DraftUid is not null ? "Drafts" : OriginalFolder ?? "INBOX";
        try
        {
            if (SourceFolder is { } sf && SourceUid is { } su && SourceParts.Count > 0)
            {
                var source = MessageRenderer.Render(Composer.Bytes(await composer.LoadAsync(Me.Address, sf, su, ct)), services.Options.HostName);
                SourceAttachments = source.Attachments.Where(a => SourceParts.Contains(a.Index)).ToList();
            }
            if (AttachFolder is { } af && AttachUid is { } au)
                AttachedMessage = (await composer.LoadAsync(Me.Address, af, au, ct)).Subject;
        }
        catch (CompositionException)
        {
            SourceParts = [];
        }
        var uploaded = new List<UploadInfo>();
        foreach (var id in Uploads.Where(UploadStore.IsId).Distinct())
        {
            if (await services.Uploads.ReadAsync(Me.Address, id, ct) is { } u)
                uploaded.Add(u.Info);
        }
        Uploaded = uploaded;
    }
}
