using System.Text.Json;
using System.Text.Json.Nodes;

namespace MailCloud.Mime;

/// <summary>Byte offsets of one part of a stored message: what section addressing needs, without the headers.</summary>
public interface IMimePart
{
    long HeaderStart { get; }
    long BodyStart { get; }
    long End { get; }
    IReadOnlyList<IMimePart> Parts { get; }

    /// <summary>The enclosed message of a message/rfc822 part.</summary>
    IMimePart? Enclosed { get; }
}

/// <summary>A part as read back from a stored <see cref="PartMap"/>.</summary>
public sealed record PartNode(long HeaderStart, long BodyStart, long End, long Lines, IReadOnlyList<IMimePart> Parts, IMimePart? Enclosed) : IMimePart;

/// <summary>
/// Compact JSON of a parsed message's part offsets: {"h":headerStart,"b":bodyStart,"e":end,"l":lines,"c":[children],"m":{enclosed}}.
/// Stored with every mailbox entry so IMAP serves BODY[section] as byte ranges of the raw blob.
/// </summary>
public static class PartMap
{
    public static string Serialize(MimeEntity root) => ToNode(root).ToJsonString();

    /// <summary>Reads a stored map; null when it is missing or damaged (the caller then parses the message itself).</summary>
    public static PartNode? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
            return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            return FromElement(doc.RootElement, 0);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// The map of the same message with <paramref name="by"/> bytes of header lines put in front: the root header
    /// still starts at 0, everything after it moves.
    /// </summary>
    public static string Shift(string json, long by)
    {
        if (by == 0 || JsonNode.Parse(json) is not JsonObject root)
            return json;
        Move(root, by, isRoot: true);
        return root.ToJsonString();

        static void Move(JsonObject o, long by, bool isRoot)
        {
            foreach (var key in isRoot ? new[] { "b", "e" } : ["h", "b", "e"])
            {
                if (o[key] is JsonValue v)
                    o[key] = v.GetValue<long>() + by;
            }
            if (o["c"] is JsonArray children)
            {
                foreach (var c in children.OfType<JsonObject>())
                    Move(c, by, isRoot: false);
            }
            if (o["m"] is JsonObject enclosed)
                Move(enclosed, by, isRoot: false);
        }
    }

    private static PartNode FromElement(JsonElement e, int depth)
    {
        if (depth > 64)
            throw new FormatException("part map too deep");
        var children = e.TryGetProperty("c", out var c) ? c.EnumerateArray().Select(x => (IMimePart)FromElement(x, depth + 1)).ToList() : [];
        var enclosed = e.TryGetProperty("m", out var m) ? FromElement(m, depth + 1) : null;
        return new PartNode(e.GetProperty("h").GetInt64(), e.GetProperty("b").GetInt64(), e.GetProperty("e").GetInt64(),
            e.TryGetProperty("l", out var l) ? l.GetInt64() : 0, children, enclosed);
    }

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
