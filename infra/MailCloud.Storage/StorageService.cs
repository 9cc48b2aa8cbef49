namespace MailCloud.Storage;

public enum StorageService
{
    Blob,
    Queue,
    Table,
}
