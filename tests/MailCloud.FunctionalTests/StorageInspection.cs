using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;

namespace MailCloud.FunctionalTests;

/// <summary>
/// Short forms the tests use to look straight at what the stages stored (rows, queue depths, blob bytes): assertions
/// read storage directly, the code under test goes through the data layer.
/// </summary>
internal static class StorageInspection
{
    public static async Task<TableEntity> GetEntityAsync(this TableClient table, string partitionKey, string rowKey) =>
        (await table.GetEntityAsync<TableEntity>(partitionKey, rowKey)).Value;

    public static async Task<int> GetApproximateMessageCountAsync(this QueueClient queue) =>
        (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;

    public static byte[] ToArray(this Response<BlobDownloadResult> download) => download.Value.Content.ToArray();
}
