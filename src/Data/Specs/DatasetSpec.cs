using MultiLora.Data.Errors;

namespace MultiLora.Data.Specs;

/// <summary>
/// One dataset: its files (globs resolved, absolute), format, column mapping, image root, mixing weight,
/// what to do with bad records, and whether it is image or text-only data.
/// </summary>
public sealed record DatasetSpec
{
    public required string Name { get; init; }
    public required IReadOnlyList<string> Files { get; init; }
    public required DataFormat Format { get; init; }
    public ColumnMapping Columns { get; init; } = ColumnMapping.Default;
    /// <summary>Folder that relative image paths are resolved against; null means the data file's folder.</summary>
    public string? ImageRoot { get; init; }
    public double Weight { get; init; } = 1.0;
    public OnError OnError { get; init; } = OnError.Fail;
    public DatasetKind Kind { get; init; } = DatasetKind.Image;
}
