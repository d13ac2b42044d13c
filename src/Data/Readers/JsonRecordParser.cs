using System.Text.Json;
using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Specs;

namespace MultiLora.Data.Readers;

/// <summary>
/// Turns one JSON object (a LLaVA/ShareGPT record, or a question/answer row such as POPE's) into a
/// <see cref="Conversation"/>. A missing conversation yields zero turns: the validator reports it under on_error.
/// </summary>
public static class JsonRecordParser
{
    public static Conversation Parse(JsonElement record, ColumnMapping columns, string origin, long index)
    {
        if (record.ValueKind != JsonValueKind.Object)
            throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"expected a JSON object, found {record.ValueKind}");
        var id = Text(record, columns.Id, origin) ?? index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var image = Image(record, columns, origin);
        var turns = columns.IsQuestionAnswer
            ? RecordBuilder.QuestionAnswer(Text(record, columns.Question!, origin), Text(record, columns.Answer!, origin), image is not null, origin)
            : Turns(record, columns.Conversations, origin);
        return new Conversation(id, turns, image, origin);
    }

    /// <summary>Parses a conversation list given as JSON text (as stored in a Parquet string column).</summary>
    public static IReadOnlyList<Turn> TurnsFromJsonText(string json, string origin)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return TurnList(doc.RootElement, origin);
        }
        catch (JsonException e) { throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"conversations column is not valid JSON ({e.Message})", e); }
    }

    static IReadOnlyList<Turn> Turns(JsonElement record, string key, string origin) =>
        record.TryGetProperty(key, out var list) && list.ValueKind != JsonValueKind.Null ? TurnList(list, origin) : [];

    static IReadOnlyList<Turn> TurnList(JsonElement list, string origin)
    {
        if (list.ValueKind != JsonValueKind.Array)
            throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"'conversations' must be a list, found {list.ValueKind}");
        var turns = new List<Turn>(list.GetArrayLength());
        foreach (var turn in list.EnumerateArray())
        {
            if (turn.ValueKind != JsonValueKind.Object)
                throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"turn {turns.Count}: expected an object with 'from' and 'value'");
            turns.Add(RecordBuilder.MakeTurn(Text(turn, "from", origin), Text(turn, "value", origin), origin, turns.Count));
        }
        return turns;
    }

    static ImageSource? Image(JsonElement record, ColumnMapping columns, string origin)
    {
        if (columns.ImageBase64 is not null && Text(record, columns.ImageBase64, origin) is { Length: > 0 } b64)
            return ImageSource.FromBytes(RecordBuilder.FromBase64(b64, origin));
        if (columns.Image is null || !record.TryGetProperty(columns.Image, out var image)) return null;
        return image.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => image.GetString() is { Length: > 0 } path ? ImageSource.FromPath(path) : null,
            // The {bytes, path} shape of Hugging Face image features, with bytes as base64 when exported to JSON.
            JsonValueKind.Object => Text(image, "bytes", origin) is { Length: > 0 } bytes ? ImageSource.FromBytes(RecordBuilder.FromBase64(bytes, origin))
                                  : Text(image, "path", origin) is { Length: > 0 } p ? ImageSource.FromPath(p) : null,
            _ => throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"'{columns.Image}' must be a path string or a {{bytes, path}} object, found {image.ValueKind}"),
        };
    }

    /// <summary>A field as text: strings as they are, numbers and booleans as written (POPE ids are numbers).</summary>
    static string? Text(JsonElement obj, string key, string origin) =>
        obj.TryGetProperty(key, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
            _ => throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"'{key}' must be text, found {v.ValueKind}"),
        } : null;
}
