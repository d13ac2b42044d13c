using MultiLora.Data.Model;

namespace MultiLora.Eval.Samples;

/// <summary>Resolves a task's data pattern and image root against the data root.</summary>
public static class DataFiles
{
    /// <summary>Files matching <paramref name="pattern"/> (a '*' in the file name expands), each with its split name.</summary>
    public static IReadOnlyList<(string Path, string Split)> Expand(string dataRoot, string pattern)
    {
        var full = Path.IsPathRooted(pattern) ? pattern : Path.Combine(dataRoot, pattern);
        if (!Path.GetFileName(full).Contains('*'))
        {
            JsonFiles.RequireFile(full);
            return [(full, "")];
        }
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: data folder not found (for '{pattern}')");
        var files = Directory.GetFiles(dir, Path.GetFileName(full)).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new FileNotFoundException($"{full}: no data file matches", full);
        return files.Select(f => (f, Path.GetFileNameWithoutExtension(f))).ToList();
    }

    public static string Resolve(string dataRoot, string relative) =>
        Path.IsPathRooted(relative) ? relative : Path.Combine(dataRoot, relative);

    /// <summary>The image of a sample as a full path under the task's image root (the data file's folder when none).</summary>
    public static ImageSource ImageAt(string? imageRoot, string dataFile, string name) =>
        ImageSource.FromPath(Path.Combine(imageRoot ?? Path.GetDirectoryName(dataFile)!, name));
}
