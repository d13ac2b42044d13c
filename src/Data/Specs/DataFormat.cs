namespace MultiLora.Data.Specs;

/// <summary>The file formats a dataset can be read from.</summary>
public enum DataFormat { Json, Jsonl, Parquet, Csv, Tsv }

/// <summary>Whether a dataset's samples carry images (<see cref="Image"/>) or are text-only instruction data (<see cref="Text"/>).</summary>
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
