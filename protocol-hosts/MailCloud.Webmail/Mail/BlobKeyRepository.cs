using System.Xml.Linq;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MailCloud.Core;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace MailCloud.Webmail;

/// <summary>
/// ASP.NET data protection's key ring in one blob, so every front-end replica (and the next container after a
/// restart) accepts the sign-in cookies and antiforgery tokens the others issued. Updates are read-modify-write
/// guarded by the blob's ETag. The keys are not encrypted at rest: whoever can read this storage account can read
/// every mailbox in it anyway; access to the account is the boundary.
/// </summary>
public sealed class BlobKeyRepository(BlobContainerClient container) : IXmlRepository
{
    private const string BlobName = "dataprotection/keys.xml";
    private BlobClient Blob => container.GetBlobClient(BlobName);

    public static BlobKeyRepository For(Storage.StorageAccount account) => new(account.Blobs.GetBlobContainerClient(StorageNames.WebKeysContainer));

    public IReadOnlyCollection<XElement> GetAllElements() => Read().Root.Elements().ToList();

    public void StoreElement(XElement element, string friendlyName)
    {
        for (int attempt = 0; ; attempt++)
        {
            var (root, etag) = Read();
            root.Add(element);
            var conditions = etag is { } e ? new BlobRequestConditions { IfMatch = e } : new BlobRequestConditions { IfNoneMatch = ETag.All };
            try
            {
                Blob.Upload(BinaryData.FromString(root.ToString(SaveOptions.DisableFormatting)), new BlobUploadOptions { Conditions = conditions });
                return;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 && attempt < 10)
            {
                // Another replica added a key at the same moment: read again and add ours to theirs.
            }
        }
    }

    private (XElement Root, ETag? ETag) Read()
    {
        try
        {
            var result = Blob.DownloadContent().Value;
            return (XElement.Parse(result.Content.ToString()), result.Details.ETag);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return (new XElement("repository"), null);
        }
    }
}
