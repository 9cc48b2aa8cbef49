using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace MailCloud.Data;

/// <summary>Where a backup is written: a folder (<c>./mailcloud backup DIR</c>) or a set in a backup container.</summary>
public interface IBackupSink
{
    /// <summary>A file of the backup by its relative path ("tables/directory.jsonl"), written as a stream.</summary>
    Task<Stream> CreateFileAsync(string path, CancellationToken cancellationToken);

    /// <summary>
    /// The manifest, last: it marks the backup complete, so it appears whole or not at all (a lister or a restore
    /// racing the backup must never find it half written or empty).
    /// </summary>
    Task WriteManifestAsync(ReadOnlyMemory<byte> manifest, CancellationToken cancellationToken);

    /// <summary>False when the sink already holds this message (a stored set shares messages with earlier sets).</summary>
    bool NeedsMessage(string name);

    Task WriteMessageAsync(string name, Stream content, CancellationToken cancellationToken);

    /// <summary>Called after every message and before the manifest, with every message the backup refers to.</summary>
    Task CompleteMessagesAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken);
}

/// <summary>What a restore reads: the same files and the messages the backup refers to.</summary>
public interface IBackupSource
{
    /// <summary>The file, or null when the backup has none by that path.</summary>
    Task<Stream?> OpenFileAsync(string path, CancellationToken cancellationToken);

    IAsyncEnumerable<string> MessagesAsync(CancellationToken cancellationToken);

    Task<Stream> OpenMessageAsync(string name, CancellationToken cancellationToken);
}

/// <summary>A backup in a folder: files as they are, every message under <c>blobs/</c> (a full copy each time).</summary>
public sealed class FolderBackup(string folder) : IBackupSink, IBackupSource
{
    public Task<Stream> CreateFileAsync(string path, CancellationToken cancellationToken)
    {
        var full = Path.Combine(folder, path.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return Task.FromResult<Stream>(File.Create(full));
    }

    public async Task WriteManifestAsync(ReadOnlyMemory<byte> manifest, CancellationToken cancellationToken)
    {
        // Written beside it, then renamed over it: a rename within a folder is atomic.
        var full = Path.Combine(folder, MailboxBackup.ManifestFile);
        Directory.CreateDirectory(folder);
        await File.WriteAllBytesAsync(full + ".partial", manifest, cancellationToken).ConfigureAwait(false);
        File.Move(full + ".partial", full, overwrite: true);
    }

    public bool NeedsMessage(string name) => true;

    public async Task WriteMessageAsync(string name, Stream content, CancellationToken cancellationToken)
    {
        var path = BlobPath(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var target = File.Create(path);
        await content.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
    }

    public Task CompleteMessagesAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<Stream?> OpenFileAsync(string path, CancellationToken cancellationToken)
    {
        var full = Path.Combine(folder, path.Replace('/', Path.DirectorySeparatorChar));
        return Task.FromResult<Stream?>(File.Exists(full) ? File.OpenRead(full) : null);
    }

    public async IAsyncEnumerable<string> MessagesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var root = Path.Combine(folder, "blobs");
        if (!Directory.Exists(root))
            yield break;
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<Stream> OpenMessageAsync(string name, CancellationToken cancellationToken) => Task.FromResult<Stream>(File.OpenRead(BlobPath(name)));

    private string BlobPath(string name)
    {
        // Blob names are ours (yyyy/MM/dd/id.eml); refuse anything that would leave the backup folder.
        if (name.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(name))
            throw new InvalidOperationException($"unexpected blob name {name}");
        return Path.Combine(folder, "blobs", name.Replace('/', Path.DirectorySeparatorChar));
    }
}

/// <summary>
/// One set in a backup container: its files under <c>sets/&lt;id&gt;/</c>, its list of messages in
/// <c>sets/&lt;id&gt;/messages.txt</c>, the messages themselves under <c>messages/</c>, shared by every set (each
/// stored once: a message is written by the first set that needs it, and later sets only list it).
/// </summary>
public sealed class StoredBackupSet(BlobContainerClient container, string id, IReadOnlySet<string>? stored = null) : IBackupSink, IBackupSource
{
    public const string SetsPrefix = "sets/";
    public const string MessagesPrefix = "messages/";
    public const string MessageList = "messages.txt";

    public string Id => id;

    /// <summary>Bytes of messages this set wrote (the ones no earlier set had).</summary>
    public long NewMessageBytes { get; private set; }
    public int NewMessages { get; private set; }

    private string SetPath(string path) => $"{SetsPrefix}{id}/{path}";

    // OpenWrite puts an empty blob up at once, which suits the table files (nothing reads a set without a manifest).
    public async Task<Stream> CreateFileAsync(string path, CancellationToken cancellationToken) =>
        await container.GetBlobClient(SetPath(path)).OpenWriteAsync(overwrite: true, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>One Put Blob: the set is listed from the moment it exists, and it exists whole.</summary>
    public async Task WriteManifestAsync(ReadOnlyMemory<byte> manifest, CancellationToken cancellationToken) =>
        await container.GetBlobClient(SetPath(MailboxBackup.ManifestFile)).UploadAsync(new BinaryData(manifest), overwrite: true, cancellationToken).ConfigureAwait(false);

    public bool NeedsMessage(string name) => stored?.Contains(name) != true;

    public async Task WriteMessageAsync(string name, Stream content, CancellationToken cancellationToken)
    {
        var counting = new CountingReadStream(content);
        await container.GetBlobClient(MessagesPrefix + name).UploadAsync(counting, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "message/rfc822" } }, cancellationToken).ConfigureAwait(false);
        NewMessageBytes += counting.BytesRead;
        NewMessages++;
    }

    public async Task CompleteMessagesAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken) =>
        await container.GetBlobClient(SetPath(MessageList)).UploadAsync(BinaryData.FromString(string.Join('\n', names)), overwrite: true, cancellationToken).ConfigureAwait(false);

    public async Task<Stream?> OpenFileAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return (await container.GetBlobClient(SetPath(path)).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.Content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<string> MessagesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var name in await ListedMessagesAsync(cancellationToken).ConfigureAwait(false))
            yield return name;
    }

    /// <summary>The messages this set refers to (its messages.txt).</summary>
    public async Task<IReadOnlyList<string>> ListedMessagesAsync(CancellationToken cancellationToken)
    {
        await using var stream = await OpenFileAsync(MessageList, cancellationToken).ConfigureAwait(false);
        if (stream is null)
            return [];
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public async Task<Stream> OpenMessageAsync(string name, CancellationToken cancellationToken) =>
        (await container.GetBlobClient(MessagesPrefix + name).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.Content;
}
