using System.Text.Json.Serialization;
using MultiLora.Data.Model;
using Parquet;
using Parquet.Serialization;

namespace MultiLora.Data.Readers;

/// <summary>
/// Writes conversations to Parquet in the Hugging Face datasets layout: id (string), conversations
/// (list of {from, value} structs) and image ({bytes, path} struct, null for text-only rows).
/// Rows are written in row groups of <see cref="RowGroupSize"/> so a large conversion never holds the whole file.
/// </summary>
public sealed class ParquetConversationWriter(string path, int rowGroupSize = ParquetConversationWriter.DefaultRowGroupSize) : IDisposable
{
    public const int DefaultRowGroupSize = 10_000;

    readonly List<Row> pending = [];
    bool anyWritten;

    public int RowGroupSize { get; } = rowGroupSize > 0 ? rowGroupSize : throw new ArgumentException($"row group size must be positive, got {rowGroupSize}");

    /// <param name="imageBytes">The image's bytes (loaded by the caller for path images), or null for text-only.</param>
    public void Write(Conversation conversation, byte[]? imageBytes, string? imagePath)
    {
        pending.Add(new Row
        {
            Id = conversation.Id,
            Conversations = [.. conversation.Turns.Select(t => new TurnRow { From = SpeakerNames.ToLlava(t.From), Value = t.Value })],
            Image = imageBytes is null && imagePath is null ? null : new ImageRow { Bytes = imageBytes, Path = imagePath },
        });
        if (pending.Count >= RowGroupSize) Flush();
    }

    void Flush()
    {
        if (pending.Count == 0 && anyWritten) return;
        if (!anyWritten) Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using (var stream = new FileStream(path, anyWritten ? FileMode.Open : FileMode.Create, FileAccess.ReadWrite))
            ParquetSerializer.SerializeAsync(pending, stream, new ParquetOptions { Append = anyWritten, RowGroupSize = RowGroupSize }).GetAwaiter().GetResult();
        anyWritten = true;
        pending.Clear();
    }

    public void Dispose() => Flush();

    // The Parquet schema, by class serialization. Public only because the serializer needs it.
    public sealed class Row
    {
        [JsonPropertyName("id")] public string Id { get; set; } = "";
        [JsonPropertyName("conversations")] public List<TurnRow> Conversations { get; set; } = [];
        [JsonPropertyName("image")] public ImageRow? Image { get; set; }
    }

    public sealed class TurnRow
    {
        [JsonPropertyName("from")] public string From { get; set; } = "";
        [JsonPropertyName("value")] public string Value { get; set; } = "";
    }

    public sealed class ImageRow
    {
        [JsonPropertyName("bytes")] public byte[]? Bytes { get; set; }
        [JsonPropertyName("path")] public string? Path { get; set; }
    }
}
