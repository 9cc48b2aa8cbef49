using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailCloud.Core;

/// <summary>The one JSON form of every queue work item and stored envelope (web defaults, nulls left out).</summary>
public static class WorkItemJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>A work item from a queue message's text; an empty or null document is refused (the item goes to retry, then poison).</summary>
    public static T Parse<T>(string json) where T : class =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new InvalidDataException($"empty {typeof(T).Name}");
}
