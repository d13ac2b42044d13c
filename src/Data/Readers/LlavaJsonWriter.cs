using System.Text.Encodings.Web;
using System.Text.Json;
using MultiLora.Data.Model;

namespace MultiLora.Data.Readers;

/// <summary>
/// Writes conversations in LLaVA's record shape {"id", "image"?, "conversations": [{"from", "value"}]}, either as
/// a JSON array (one record a line) or as JSON Lines. Output is byte-for-byte determined by the input.
/// </summary>
public sealed class LlavaJsonWriter : IDisposable
{
    // Relaxed escaping keeps "<image>" readable in the file; the output is still valid JSON.
    static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    readonly Stream stream;
    readonly bool lines;
    int count;

    /// <param name="jsonLines">true for .jsonl (one object a line), false for a JSON array.</param>
    public LlavaJsonWriter(string path, bool jsonLines)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        lines = jsonLines;
        if (!lines) stream.Write("["u8);
    }

    /// <param name="imagePath">The path to write as "image" (null: the conversation's own path, if any).</param>
    public void Write(Conversation conversation, string? imagePath = null)
    {
        if (!lines) stream.Write(count == 0 ? "\n"u8 : ",\n"u8);
        using (var writer = new Utf8JsonWriter(stream, Options)) WriteRecord(writer, conversation, imagePath ?? conversation.Image?.Path);
        if (lines) stream.Write("\n"u8);
        count++;
    }

    /// <summary>Writes any JSON object as one line/element (for formats with other fields, such as POPE questions).</summary>
    public void WriteRaw(Action<Utf8JsonWriter> writeObject)
    {
        if (!lines) stream.Write(count == 0 ? "\n"u8 : ",\n"u8);
        using (var writer = new Utf8JsonWriter(stream, Options)) writeObject(writer);
        if (lines) stream.Write("\n"u8);
        count++;
    }

    public static void WriteRecord(Utf8JsonWriter writer, Conversation conversation, string? imagePath)
    {
        writer.WriteStartObject();
        writer.WriteString("id", conversation.Id);
        if (imagePath is not null) writer.WriteString("image", imagePath);
        writer.WriteStartArray("conversations");
        foreach (var turn in conversation.Turns)
        {
            writer.WriteStartObject();
            writer.WriteString("from", SpeakerNames.ToLlava(turn.From));
            writer.WriteString("value", turn.Value);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public void Dispose()
    {
        if (!lines) stream.Write(count == 0 ? "]\n"u8 : "\n]\n"u8);
        stream.Dispose();
    }
}
