using System.Collections;
using System.Globalization;
using Azure;

namespace MailCloud.Storage;

/// <summary>
/// A Table storage entity: PartitionKey, RowKey, ETag, Timestamp and typed properties
/// (string, bool, int, long, double, DateTimeOffset, Guid, byte[]).
/// </summary>
public sealed class TableEntity : IEnumerable<KeyValuePair<string, object?>>
{
    private readonly Dictionary<string, object?> _properties = new(StringComparer.Ordinal);

    public TableEntity(string partitionKey, string rowKey)
    {
        PartitionKey = partitionKey;
        RowKey = rowKey;
    }

    public string PartitionKey { get; set; }
    public string RowKey { get; set; }
    public ETag ETag { get; set; }
    public DateTimeOffset? Timestamp { get; set; }

    public IReadOnlyDictionary<string, object?> Properties => _properties;

    public object? this[string name]
    {
        get => _properties.GetValueOrDefault(name);
        set
        {
            if (value is DateTime dt)
                value = new DateTimeOffset(dt.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(dt, DateTimeKind.Utc) : dt);
            if (value is BinaryData bd)
                value = bd.ToArray();
            if (value is not (null or string or bool or int or long or double or DateTimeOffset or Guid or byte[]))
                throw new ArgumentException($"Property '{name}' has type {value.GetType().Name}, which Table storage cannot hold.", nameof(value));
            _properties[name] = value;
        }
    }

    public bool ContainsKey(string name) => _properties.ContainsKey(name);
    public bool Remove(string name) => _properties.Remove(name);

    public string? GetString(string name) => this[name] as string;
    public bool? GetBoolean(string name) => this[name] as bool?;
    public int? GetInt32(string name) => this[name] switch { int i => i, long l when l is >= int.MinValue and <= int.MaxValue => (int)l, _ => null };
    public long? GetInt64(string name) => this[name] switch { long l => l, int i => i, _ => null };
    public double? GetDouble(string name) => this[name] switch { double d => d, int i => i, long l => l, _ => null };
    public DateTimeOffset? GetDateTimeOffset(string name) => this[name] switch
    {
        DateTimeOffset d => d,
        string s when DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) => d,
        _ => null,
    };
    public Guid? GetGuid(string name) => this[name] switch { Guid g => g, string s when Guid.TryParse(s, out var g) => g, _ => null };
    public byte[]? GetBinary(string name) => this[name] as byte[];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _properties.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Add(string name, object? value) => this[name] = value;
}
