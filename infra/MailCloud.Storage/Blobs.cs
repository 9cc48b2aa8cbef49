using System.Buffers;
using System.Globalization;
using System.Text;
using System.Xml;
using Azure;
using Azure.Core;

namespace MailCloud.Storage;

/// <summary>Conditions on a blob request: If-Match / If-None-Match (use <see cref="ETag.All"/> for "exists"/"does not exist").</summary>
public sealed record BlobRequestConditions(ETag? IfMatch = null, ETag? IfNoneMatch = null)
{
    /// <summary>Create-only: fail with 409/412 if the blob already exists.</summary>
    public static BlobRequestConditions IfNotExists { get; } = new(IfNoneMatch: ETag.All);

    internal void Apply(Request request)
    {
        if (IfMatch is { } m)
            request.Headers.SetValue("If-Match", m.ToString("H"));
        if (IfNoneMatch is { } n)
            request.Headers.SetValue("If-None-Match", n.ToString("H"));
    }
}

public sealed record BlobUploadOptions
{
    public string? ContentType { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    public BlobRequestConditions? Conditions { get; init; }
}

public sealed record BlobInfo(ETag ETag, DateTimeOffset LastModified, long Size);

public sealed record BlobProperties(
    long ContentLength,
    string? ContentType,
    ETag ETag,
    DateTimeOffset LastModified,
    IReadOnlyDictionary<string, string> Metadata);

public sealed record BlobItem(string Name, BlobProperties Properties);

public sealed record BlobPage(IReadOnlyList<BlobItem> Items, string? ContinuationToken);

/// <summary>A streamed download. Dispose it (or its <see cref="Content"/>) to release the connection.</summary>
public sealed class BlobDownloadResult(Stream content, BlobProperties properties, long offset) : IDisposable, IAsyncDisposable
{
    public Stream Content { get; } = content;
    public BlobProperties Properties { get; } = properties;

    /// <summary>Offset of the first byte of <see cref="Content"/> in the blob (non-zero for ranged reads).</summary>
    public long Offset { get; } = offset;

    public void Dispose() => Content.Dispose();
    public ValueTask DisposeAsync() => Content.DisposeAsync();
}

/// <summary>Entry point for the Blob service, shaped like Azure.Storage.Blobs' client so it could be swapped in.</summary>
public sealed class BlobServiceClient
{
    private readonly ServicePipeline _pipeline;

    public BlobServiceClient(StorageConnection connection, StorageClientOptions? options = null) =>
        _pipeline = new ServicePipeline(connection, StorageService.Blob, options ?? new StorageClientOptions());

    public StorageRequestCounter RequestCounter => _pipeline.Options.RequestCounter;

    public BlobContainerClient GetBlobContainerClient(string name) => new(_pipeline, name);
}

public sealed class BlobContainerClient
{
    private readonly ServicePipeline _pipeline;

    internal BlobContainerClient(ServicePipeline pipeline, string name)
    {
        _pipeline = pipeline;
        Name = name;
    }

    public string Name { get; }

    public BlobClient GetBlobClient(string blobName) => new(_pipeline, Name, blobName);

    public async Task CreateAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Put, "CreateContainer", UriPaths.Combine(_pipeline.Endpoint, Name, "restype=container"));
        await _pipeline.SendAsync(msg, cancellationToken, 201).ConfigureAwait(false);
    }

    /// <summary>Creates the container; returns false when it already existed.</summary>
    public async Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Put, "CreateContainer", UriPaths.Combine(_pipeline.Endpoint, Name, "restype=container"));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 201, 409).ConfigureAwait(false);
        return response.Status == 201;
    }

    public async Task<bool> DeleteIfExistsAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Delete, "DeleteContainer", UriPaths.Combine(_pipeline.Endpoint, Name, "restype=container"));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 202, 404).ConfigureAwait(false);
        return response.Status == 202;
    }

    public async Task<bool> ExistsAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Head, "GetContainerProperties", UriPaths.Combine(_pipeline.Endpoint, Name, "restype=container"));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200, 404).ConfigureAwait(false);
        return response.Status == 200;
    }

    /// <summary>One page of a listing by prefix. Pass the returned token back to continue.</summary>
    public async Task<BlobPage> GetBlobsPageAsync(string? prefix = null, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default)
    {
        var query = UriPaths.Query(("restype", "container"), ("comp", "list"), ("include", "metadata"), ("prefix", prefix),
            ("marker", continuationToken), ("maxresults", pageSize?.ToString(CultureInfo.InvariantCulture)));
        using var msg = _pipeline.CreateMessage(RequestMethod.Get, "ListBlobs", UriPaths.Combine(_pipeline.Endpoint, Name, query));
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200).ConfigureAwait(false);
        return ParseList(response.Content.ToString());
    }

    /// <summary>Every blob under the prefix, following continuation tokens page by page.</summary>
    public async IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await GetBlobsPageAsync(prefix, token, null, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
                yield return item;
            token = page.ContinuationToken;
        }
        while (!string.IsNullOrEmpty(token));
    }

    private static BlobPage ParseList(string xml)
    {
        var doc = new XmlDocument { XmlResolver = null };
        doc.LoadXml(xml);
        var items = new List<BlobItem>();
        foreach (XmlNode blob in doc.SelectNodes("/EnumerationResults/Blobs/Blob")!)
        {
            var name = blob["Name"]?.InnerText ?? string.Empty;
            var props = blob["Properties"];
            var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (blob["Metadata"] is { } md)
            {
                foreach (XmlNode m in md.ChildNodes)
                {
                    if (m.NodeType == XmlNodeType.Element)
                        metadata[m.Name] = m.InnerText;
                }
            }
            items.Add(new BlobItem(name, new BlobProperties(
                long.Parse(props?["Content-Length"]?.InnerText ?? "0", CultureInfo.InvariantCulture),
                NullIfEmpty(props?["Content-Type"]?.InnerText),
                new ETag(props?["Etag"]?.InnerText ?? string.Empty),
                DateTimeOffset.TryParse(props?["Last-Modified"]?.InnerText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var lm) ? lm : default,
                metadata)));
        }
        var next = doc.SelectSingleNode("/EnumerationResults/NextMarker")?.InnerText;
        return new BlobPage(items, NullIfEmpty(next));
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}

public sealed class BlobClient
{
    private readonly ServicePipeline _pipeline;

    internal BlobClient(ServicePipeline pipeline, string container, string name)
    {
        _pipeline = pipeline;
        ContainerName = container;
        Name = name;
    }

    public string ContainerName { get; }
    public string Name { get; }

    private Uri BlobUri(string? query = null) => UriPaths.Combine(_pipeline.Endpoint, $"{ContainerName}/{Name}", query);

    /// <summary>
    /// Uploads a stream of any length without holding it in memory: one Put Blob when it fits the single-upload
    /// threshold, otherwise staged blocks of <see cref="StorageClientOptions.BlockSize"/> and a final Put Block List.
    /// Conditions apply to the commit, so a create-only upload never overwrites.
    /// </summary>
    public async Task<BlobInfo> UploadAsync(Stream content, BlobUploadOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new BlobUploadOptions();
        var blockSize = Math.Max(_pipeline.Options.BlockSize, 1);
        var first = ArrayPool<byte>.Shared.Rent(Math.Max(_pipeline.Options.SingleUploadThreshold, blockSize) + 1);
        try
        {
            int firstLength = await ReadFullAsync(content, first.AsMemory(0, _pipeline.Options.SingleUploadThreshold + 1), cancellationToken).ConfigureAwait(false);
            if (firstLength <= _pipeline.Options.SingleUploadThreshold)
                return await PutBlobAsync(first.AsMemory(0, firstLength), options, cancellationToken).ConfigureAwait(false);

            // Too big for one request: stage full blocks of what we have read, carry the remainder into the next block.
            var uploadId = Guid.NewGuid().ToString("N")[..8];
            var blockIds = new List<string>();
            long total = 0;
            int filled = firstLength;
            while (true)
            {
                int offset = 0;
                while (filled - offset >= blockSize)
                {
                    await StageBlockAsync(BlockId(uploadId, blockIds.Count), first.AsMemory(offset, blockSize), blockIds, cancellationToken).ConfigureAwait(false);
                    total += blockSize;
                    offset += blockSize;
                }
                int carry = filled - offset;
                first.AsSpan(offset, carry).CopyTo(first);
                int n = await ReadFullAsync(content, first.AsMemory(carry, blockSize - carry), cancellationToken).ConfigureAwait(false);
                filled = carry + n;
                if (n == 0)
                {
                    if (filled > 0)
                    {
                        await StageBlockAsync(BlockId(uploadId, blockIds.Count), first.AsMemory(0, filled), blockIds, cancellationToken).ConfigureAwait(false);
                        total += filled;
                    }
                    break;
                }
            }
            return await CommitBlockListAsync(blockIds, total, options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(first);
        }
    }

    public Task<BlobInfo> UploadAsync(BinaryData content, BlobUploadOptions? options = null, CancellationToken cancellationToken = default) =>
        UploadAsync(content.ToStream(), options, cancellationToken);

    private static string BlockId(string uploadId, int index) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes($"{uploadId}-{index:D8}"));

    private static async Task<int> ReadFullAsync(Stream s, Memory<byte> buffer, CancellationToken ct)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await s.ReadAsync(buffer[total..], ct).ConfigureAwait(false);
            if (n == 0)
                break;
            total += n;
        }
        return total;
    }

    private async Task<BlobInfo> PutBlobAsync(ReadOnlyMemory<byte> data, BlobUploadOptions options, CancellationToken ct)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Put, "PutBlob", BlobUri());
        msg.Request.Headers.SetValue("x-ms-blob-type", "BlockBlob");
        ApplyCommon(msg.Request, options);
        msg.Request.Content = RequestContent.Create(data);
        var response = await _pipeline.SendAsync(msg, ct, 201).ConfigureAwait(false);
        return ToInfo(response, data.Length);
    }

    private async Task StageBlockAsync(string blockId, ReadOnlyMemory<byte> data, List<string> ids, CancellationToken ct)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Put, "PutBlock", BlobUri(UriPaths.Query(("comp", "block"), ("blockid", blockId))));
        msg.Request.Content = RequestContent.Create(data);
        await _pipeline.SendAsync(msg, ct, 201).ConfigureAwait(false);
        ids.Add(blockId);
    }

    private async Task<BlobInfo> CommitBlockListAsync(List<string> ids, long total, BlobUploadOptions options, CancellationToken ct)
    {
        var sb = new StringBuilder("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        foreach (var id in ids)
            sb.Append("<Latest>").Append(id).Append("</Latest>");
        sb.Append("</BlockList>");
        using var msg = _pipeline.CreateMessage(RequestMethod.Put, "PutBlockList", BlobUri("comp=blocklist"));
        ApplyCommon(msg.Request, options);
        msg.Request.Headers.SetValue("Content-Type", "application/xml");
        msg.Request.Content = RequestContent.Create(Encoding.UTF8.GetBytes(sb.ToString()));
        var response = await _pipeline.SendAsync(msg, ct, 201).ConfigureAwait(false);
        return ToInfo(response, total);
    }

    private static void ApplyCommon(Request request, BlobUploadOptions options)
    {
        if (options.ContentType is not null)
            request.Headers.SetValue("x-ms-blob-content-type", options.ContentType);
        ApplyMetadata(request, options.Metadata);
        options.Conditions?.Apply(request);
    }

    private static void ApplyMetadata(Request request, IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null)
            return;
        foreach (var (key, value) in metadata)
        {
            if (value.Any(c => c > 0x7e || c < 0x20))
                throw new ArgumentException($"Metadata value for '{key}' must be printable ASCII.", nameof(metadata));
            request.Headers.SetValue("x-ms-meta-" + key, value);
        }
    }

    private static BlobInfo ToInfo(Response response, long size) => new(
        response.Headers.ETag ?? default,
        response.Headers.TryGetValue("Last-Modified", out var lm) && DateTimeOffset.TryParse(lm, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : default,
        size);

    /// <summary>Streams the blob (or a byte range of it) without buffering it; dispose the result.</summary>
    public async Task<BlobDownloadResult> DownloadStreamingAsync(HttpRange? range = null, BlobRequestConditions? conditions = null, CancellationToken cancellationToken = default)
    {
        var msg = _pipeline.CreateMessage(RequestMethod.Get, "GetBlob", BlobUri());
        try
        {
            msg.BufferResponse = false;
            if (range is { } r)
                msg.Request.Headers.SetValue("x-ms-range", r.ToString());
            conditions?.Apply(msg.Request);
            var response = await _pipeline.SendAsync(msg, cancellationToken, 200, 206).ConfigureAwait(false);
            var props = ReadProperties(response);
            long offset = 0;
            if (response.Headers.TryGetValue("Content-Range", out var cr) && cr.StartsWith("bytes ", StringComparison.Ordinal))
            {
                var dash = cr.IndexOf('-', StringComparison.Ordinal);
                offset = long.Parse(cr.AsSpan(6, dash - 6), CultureInfo.InvariantCulture);
                var slash = cr.LastIndexOf('/');
                if (slash > 0 && long.TryParse(cr.AsSpan(slash + 1), CultureInfo.InvariantCulture, out var full))
                    props = props with { ContentLength = full };
            }
            return new BlobDownloadResult(new OwningStream(response.ContentStream ?? Stream.Null, msg), props, offset);
        }
        catch
        {
            msg.Dispose();
            throw;
        }
    }

    /// <summary>Downloads the whole blob into memory (for small blobs: envelopes, summaries).</summary>
    public async Task<BinaryData> DownloadContentAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Get, "GetBlob", BlobUri());
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200).ConfigureAwait(false);
        return response.Content;
    }

    public async Task<BlobProperties> GetPropertiesAsync(BlobRequestConditions? conditions = null, CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Head, "GetBlobProperties", BlobUri());
        conditions?.Apply(msg.Request);
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200).ConfigureAwait(false);
        return ReadProperties(response);
    }

    public async Task<bool> ExistsAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Head, "GetBlobProperties", BlobUri());
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200, 404).ConfigureAwait(false);
        return response.Status == 200;
    }

    /// <summary>Replaces all user metadata. With <paramref name="conditions"/>, only if the ETag still matches.</summary>
    public async Task<ETag> SetMetadataAsync(IReadOnlyDictionary<string, string> metadata, BlobRequestConditions? conditions = null, CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Put, "SetBlobMetadata", BlobUri("comp=metadata"));
        ApplyMetadata(msg.Request, metadata);
        conditions?.Apply(msg.Request);
        var response = await _pipeline.SendAsync(msg, cancellationToken, 200).ConfigureAwait(false);
        return response.Headers.ETag ?? default;
    }

    public async Task DeleteAsync(BlobRequestConditions? conditions = null, CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Delete, "DeleteBlob", BlobUri());
        conditions?.Apply(msg.Request);
        await _pipeline.SendAsync(msg, cancellationToken, 202).ConfigureAwait(false);
    }

    public async Task<bool> DeleteIfExistsAsync(CancellationToken cancellationToken = default)
    {
        using var msg = _pipeline.CreateMessage(RequestMethod.Delete, "DeleteBlob", BlobUri());
        var response = await _pipeline.SendAsync(msg, cancellationToken, 202, 404).ConfigureAwait(false);
        return response.Status == 202;
    }

    private static BlobProperties ReadProperties(Response response)
    {
        var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var h in response.Headers)
        {
            if (h.Name.StartsWith("x-ms-meta-", StringComparison.OrdinalIgnoreCase))
                metadata[h.Name["x-ms-meta-".Length..]] = h.Value;
        }
        response.Headers.TryGetValue("Content-Type", out var contentType);
        return new BlobProperties(
            response.Headers.ContentLength ?? 0,
            contentType,
            response.Headers.ETag ?? default,
            response.Headers.TryGetValue("Last-Modified", out var lm) && DateTimeOffset.TryParse(lm, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : default,
            metadata);
    }

    /// <summary>Wraps the network stream so disposing it also disposes the HTTP message that owns it.</summary>
    private sealed class OwningStream(Stream inner, HttpMessage owner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException("A blob download stream has no length; see BlobDownloadResult.Properties.");
        public override long Position { get => throw new NotSupportedException("Download streams are forward-only."); set => throw new NotSupportedException("Download streams are forward-only."); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("Download streams are forward-only.");
        public override void SetLength(long value) => throw new NotSupportedException("Download streams are read-only.");
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Download streams are read-only.");

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                owner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
