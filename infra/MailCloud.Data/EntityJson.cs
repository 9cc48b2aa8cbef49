using System.Globalization;
using System.Text.Json;
using Azure;

using Azure.Data.Tables;

namespace MailCloud.Data;

/// <summary>
/// The backup files' row format: OData JSON (minimal metadata) with type annotations where JSON cannot carry the
/// type, so a restored row has the same column types as the saved one.
/// </summary>
public static class EntityJson
{
    public static byte[] Serialize(TableEntity entity)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("PartitionKey", entity.PartitionKey);
            w.WriteString("RowKey", entity.RowKey);
            foreach (var (name, value) in entity)
            {
                if (name is "PartitionKey" or "RowKey" or "Timestamp" or "odata.etag")
                    continue;
                switch (value)
                {
                    case null:
                        break; // Tables have no nulls: an absent property is the null.
                    case string s:
                        w.WriteString(name, s);
                        break;
                    case bool b:
                        w.WriteBoolean(name, b);
                        break;
                    case int i:
                        w.WriteNumber(name, i);
                        break;
                    case long l:
                        w.WriteString(name + "@odata.type", "Edm.Int64");
                        w.WriteString(name, l.ToString(CultureInfo.InvariantCulture));
                        break;
                    case double d:
                        w.WriteString(name + "@odata.type", "Edm.Double");
                        if (double.IsFinite(d))
                            w.WriteNumber(name, d);
                        else
                            w.WriteString(name, double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
                        break;
                    case DateTime dt:
                        w.WriteString(name + "@odata.type", "Edm.DateTime");
                        w.WriteString(name, dt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
                        break;
                    case DateTimeOffset dto:
                        w.WriteString(name + "@odata.type", "Edm.DateTime");
                        w.WriteString(name, dto.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
                        break;
                    case Guid g:
                        w.WriteString(name + "@odata.type", "Edm.Guid");
                        w.WriteString(name, g.ToString());
                        break;
                    case BinaryData data:
                        w.WriteString(name + "@odata.type", "Edm.Binary");
                        w.WriteString(name, Convert.ToBase64String(data.ToArray()));
                        break;
                    case byte[] bytes:
                        w.WriteString(name + "@odata.type", "Edm.Binary");
                        w.WriteString(name, Convert.ToBase64String(bytes));
                        break;
                    default:
                        throw new InvalidOperationException($"Unsupported property type {value.GetType()}.");
                }
            }
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static TableEntity Deserialize(JsonElement e)
    {
        var entity = new TableEntity(
            e.TryGetProperty("PartitionKey", out var pk) ? pk.GetString() ?? string.Empty : string.Empty,
            e.TryGetProperty("RowKey", out var rk) ? rk.GetString() ?? string.Empty : string.Empty);

        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            if (p.Name.EndsWith("@odata.type", StringComparison.Ordinal))
                types[p.Name[..^"@odata.type".Length]] = p.Value.GetString() ?? string.Empty;
        }

        foreach (var p in e.EnumerateObject())
        {
            if (p.Name.Contains('@', StringComparison.Ordinal) || p.Name.StartsWith("odata.", StringComparison.Ordinal))
            {
                if (p.Name == "odata.etag")
                    entity.ETag = new ETag(p.Value.GetString() ?? string.Empty);
                continue;
            }
            switch (p.Name)
            {
                case "PartitionKey":
                case "RowKey":
                    continue;
                case "Timestamp":
                    continue; // the service sets it
            }
            entity[p.Name] = ReadValue(p.Value, types.GetValueOrDefault(p.Name));
        }
        return entity;
    }

    private static object? ReadValue(JsonElement v, string? type) => type switch
    {
        "Edm.Int64" => long.Parse(v.GetString()!, CultureInfo.InvariantCulture),
        "Edm.Int32" => v.ValueKind == JsonValueKind.String ? int.Parse(v.GetString()!, CultureInfo.InvariantCulture) : v.GetInt32(),
        "Edm.Double" => v.ValueKind == JsonValueKind.String ? double.Parse(v.GetString()!, CultureInfo.InvariantCulture) : v.GetDouble(),
        "Edm.DateTime" => DateTimeOffset.Parse(v.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
        "Edm.Guid" => Guid.Parse(v.GetString()!),
        "Edm.Binary" => Convert.FromBase64String(v.GetString()!),
        "Edm.Boolean" => v.GetBoolean(),
        "Edm.String" => v.GetString(),
        _ => v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => v.TryGetInt32(out var i) ? (object)i : v.GetDouble(),
            JsonValueKind.Null => null,
            _ => v.GetRawText(),
        },
    };
}
