namespace MailCloud.Storage;

internal static class UriPaths
{
    /// <summary>Appends path segments (each escaped; '/' inside a blob name is kept as a separator) and an optional query.</summary>
    public static Uri Combine(Uri endpoint, string? path, string? query = null)
    {
        var b = new UriBuilder(endpoint);
        var basePath = b.Path.TrimEnd('/');
        if (!string.IsNullOrEmpty(path))
            basePath += "/" + string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
        b.Path = basePath.Length == 0 ? "/" : basePath;
        b.Query = query ?? string.Empty;
        return b.Uri;
    }

    public static string Query(params (string Name, string? Value)[] parameters) =>
        string.Join('&', parameters.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}"));
}
