namespace MultiLora.Data.Specs;

/// <summary>The file formats a dataset can be read from.</summary>
public enum DataFormat { Json, Jsonl, Parquet, Csv, Tsv }

/// <summary>
/// What a dataset is declared to hold: image-instruction data or text-only instruction data. Mixing itself goes by
/// each record (with or without an image), since image datasets such as llava_v1_5_mix665k also hold text-only
/// records; the kind documents intent and is reported by inspect.
/// </summary>
public enum DatasetKind { Image, Text }

public static class DataFormats
{
    /// <summary>The format a file's extension implies (".json", ".jsonl", ".parquet", ".csv", ".tsv").</summary>
    public static DataFormat FromExtension(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".json" => DataFormat.Json,
        ".jsonl" => DataFormat.Jsonl,
        ".parquet" => DataFormat.Parquet,
        ".csv" => DataFormat.Csv,
        ".tsv" => DataFormat.Tsv,
        var ext => throw new ArgumentException($"{path}: cannot tell the data format from the extension '{ext}' (expected .json, .jsonl, .parquet, .csv or .tsv)"),
    };
}
