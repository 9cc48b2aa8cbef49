using System.Text.Json.Nodes;
using MailCloud.Mime;

namespace MailCloud.Pipeline;

/// <summary>
/// Compact JSON of a parsed message's part offsets: {"h":headerStart,"b":bodyStart,"e":end,"l":lines,"c":[children],"m":{enclosed}}.
/// </summary>
public static class PartMap
{
    public static string Serialize(MimeEntity root) => ToNode(root).ToJsonString();

    private static JsonObject ToNode(MimeEntity e)
    {
        var o = new JsonObject { ["h"] = e.HeaderStart, ["b"] = e.BodyStart, ["e"] = e.End, ["l"] = e.BodyLines };
        if (e.Children.Count > 0)
            o["c"] = new JsonArray(e.Children.Select(c => (JsonNode)ToNode(c)).ToArray());
        if (e.Message is not null)
            o["m"] = ToNode(e.Message);
        return o;
    }
}
