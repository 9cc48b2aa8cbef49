using System.Text.Json;

namespace MailCloud.Storage;

/// <summary>An entity as the table service's JSON (with @odata.type annotations), for backups: types survive a round trip.</summary>
public static class TableEntityJson
{
    public static byte[] Serialize(TableEntity entity) => TableJson.Serialize(entity);

    public static TableEntity Deserialize(JsonElement element) => TableJson.Deserialize(element);
}
