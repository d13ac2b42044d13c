namespace MultiLora.Data.Specs;

/// <summary>
/// Expands a spec's file entry: a plain path, or a pattern with * and ? in the file name
/// ("shards/train-*.parquet"). Matches are sorted ordinally so the read order never depends on the file system.
/// </summary>
public static class FileGlob
{
    public static IReadOnlyList<string> Expand(string pattern, string baseFolder, string where)
    {
        var full = Path.GetFullPath(pattern, baseFolder);
        var folder = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        if (folder.IndexOfAny(['*', '?']) >= 0)
            throw new InvalidDataException($"{where}: wildcards are supported in file names only, not folders: '{pattern}'");
        if (name.IndexOfAny(['*', '?']) < 0)
            return File.Exists(full) ? [full] : throw new FileNotFoundException($"{where}: data file not found: {full}", full);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{where}: folder not found for '{pattern}': {folder}");
        var matches = Directory.GetFiles(folder, name).Order(StringComparer.Ordinal).ToList();
        return matches.Count > 0 ? matches : throw new FileNotFoundException($"{where}: no file matches '{pattern}' in {folder}");
    }
}
