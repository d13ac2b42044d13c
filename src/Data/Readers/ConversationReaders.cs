using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Specs;

namespace MultiLora.Data.Readers;

/// <summary>Picks the reader for a format and reads whole datasets (all their files, in order).</summary>
public static class ConversationReaders
{
    public static IConversationReader For(DataFormat format) => format switch
    {
        DataFormat.Json => new LlavaJsonReader(),
        DataFormat.Jsonl => new JsonlReader(),
        DataFormat.Parquet => new ParquetConversationReader(),
        DataFormat.Csv => DelimitedReader.Csv(),
        DataFormat.Tsv => DelimitedReader.Tsv(),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown data format"),
    };

    /// <summary>Every record of the dataset's files; bad records go to <paramref name="errors"/>.</summary>
    public static IEnumerable<Conversation> Read(DatasetSpec spec, DataErrorPolicy errors)
    {
        var reader = For(spec.Format);
        return spec.Files.SelectMany(file => reader.Read(file, spec.Columns, errors));
    }

    /// <summary>Reads one file with the format its extension implies and the default LLaVA column names.</summary>
    public static IEnumerable<Conversation> ReadFile(string file, DataErrorPolicy errors) =>
        For(DataFormats.FromExtension(file)).Read(file, ColumnMapping.Default, errors);

    /// <summary>The folder relative image paths of <paramref name="spec"/> resolve against.</summary>
    public static string ImageRoot(DatasetSpec spec, string file) => spec.ImageRoot ?? Path.GetDirectoryName(Path.GetFullPath(file))!;
}
