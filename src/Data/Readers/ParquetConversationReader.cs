using System.Collections;
using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Specs;
using Parquet;
using Parquet.Serialization;

namespace MultiLora.Data.Readers;

/// <summary>
/// Reads Parquet files (e.g. Hugging Face datasets exports) one row group at a time. The conversations column
/// may be a list of {from, value} structs or that list as a JSON string; the image column a {bytes, path}
/// struct, raw bytes or a path string. The record index counts rows across row groups.
/// </summary>
public sealed class ParquetConversationReader : IConversationReader
{
    public IEnumerable<Conversation> Read(string file, ColumnMapping columns, DataErrorPolicy errors)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: data file not found", file);
        using var stream = File.OpenRead(file);
        var rowGroups = CountRowGroups(stream, file);
        long index = 0;
        for (var group = 0; group < rowGroups; group++)
        {
            stream.Position = 0;
            var rows = ParquetSerializer.DeserializeUntypedAsync(stream, null, group).GetAwaiter().GetResult().Data;
            if (group == 0 && rows.Count > 0) CheckColumns(rows[0], columns, file);
            foreach (var row in rows)
            {
                var conversation = Parse(row, columns, file, index++, errors);
                if (conversation is not null) yield return conversation;
            }
        }
    }

    static int CountRowGroups(Stream stream, string file)
    {
        try
        {
            var reader = ParquetReader.CreateAsync(stream, leaveStreamOpen: true).GetAwaiter().GetResult();
            try { return reader.RowGroupCount; }
            finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new InvalidDataException($"{file}: not a readable Parquet file ({e.Message})", e);
        }
    }

    /// <summary>A misspelt column is a configuration error, reported once for the file rather than per row.</summary>
    static void CheckColumns(IDictionary<string, object> row, ColumnMapping columns, string file)
    {
        string[] required = columns.IsQuestionAnswer ? [columns.Question!, columns.Answer!] : [columns.Conversations];
        foreach (var column in required)
            if (!row.ContainsKey(column))
                throw new InvalidDataException($"{file}: column '{column}' not found (columns: {string.Join(", ", row.Keys)})");
    }

    static Conversation? Parse(IDictionary<string, object> row, ColumnMapping columns, string file, long index, DataErrorPolicy errors)
    {
        var origin = RecordBuilder.Origin(file, index);
        try
        {
            var id = Text(row, columns.Id) ?? index.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var image = Image(row, columns, origin);
            var turns = columns.IsQuestionAnswer
                ? RecordBuilder.QuestionAnswer(Text(row, columns.Question!), Text(row, columns.Answer!), image is not null, origin)
                : Turns(row.TryGetValue(columns.Conversations, out var c) ? c : null, origin);
            return new Conversation(id, turns, image, origin);
        }
        catch (DataRecordException e) { errors.Handle(e); return null; }
    }

    static IReadOnlyList<Turn> Turns(object? value, string origin) => value switch
    {
        null => [],
        string json => JsonRecordParser.TurnsFromJsonText(json, origin),
        IEnumerable list => list.Cast<object?>().Select((t, i) => t is IDictionary<string, object> turn
                ? RecordBuilder.MakeTurn(Text(turn, "from"), Text(turn, "value"), origin, i)
                : throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"turn {i}: expected a {{from, value}} struct")).ToList(),
        _ => throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"conversations column holds {value.GetType().Name}, expected a list of {{from, value}} or JSON text"),
    };

    static ImageSource? Image(IDictionary<string, object> row, ColumnMapping columns, string origin)
    {
        if (columns.ImageBase64 is not null && Text(row, columns.ImageBase64) is { Length: > 0 } b64)
            return ImageSource.FromBytes(RecordBuilder.FromBase64(b64, origin));
        if (columns.Image is null || !row.TryGetValue(columns.Image, out var value)) return null;
        return value switch
        {
            null => null,
            byte[] { Length: > 0 } bytes => ImageSource.FromBytes(bytes),
            byte[] => null,
            string { Length: > 0 } path => ImageSource.FromPath(path),
            string => null,
            // Both are kept: the bytes are the image, the path its original name (used when converting back to files).
            IDictionary<string, object> image => StructImage(image.TryGetValue("bytes", out var b) ? b as byte[] : null, Text(image, "path")),
            _ => throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"image column holds {value.GetType().Name}, expected a {{bytes, path}} struct, bytes or a path"),
        };
    }

    static ImageSource? StructImage(byte[]? bytes, string? path) =>
        bytes is { Length: > 0 } ? new ImageSource(string.IsNullOrEmpty(path) ? null : path, bytes)
        : string.IsNullOrEmpty(path) ? null : ImageSource.FromPath(path);

    static string? Text(IDictionary<string, object> row, string key) =>
        row.TryGetValue(key, out object? v) ? v switch
        {
            null => null,
            string s => s,
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => v.ToString(),
        } : null;
}
