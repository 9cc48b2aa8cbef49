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
}
