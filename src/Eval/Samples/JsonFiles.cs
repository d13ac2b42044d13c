using System.Text.Json;

namespace MultiLora.Eval.Samples;

/// <summary>JSON / JSONL reading with errors that name the file and line or record.</summary>
public static class JsonFiles
{
    public static JsonElement ReadJson(string path)
    {
        RequireFile(path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.Clone();
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: invalid JSON ({e.Message})", e); }
    }

    /// <summary>Objects of a JSONL file with their 1-based line numbers; blank lines are skipped.</summary>
    public static IEnumerable<(JsonElement Row, int Line)> ReadJsonl(string path)
    {
        RequireFile(path);
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonElement row;
            try
            {
                using var doc = JsonDocument.Parse(text);
                row = doc.RootElement.Clone();
            }
            catch (JsonException e) { throw new InvalidDataException($"{path}:{line}: invalid JSON line ({e.Message})", e); }
            if (row.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}:{line}: expected a JSON object");
            yield return (row, line);
        }
    }

    public static void RequireFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
    }

    /// <summary>An id field as text whether the file stores it as a number or a string.</summary>
    public static string Id(JsonElement row, string key, string where) => Field(row, key, where) switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString()!,
        { ValueKind: JsonValueKind.Number } n => n.GetRawText(),
        _ => throw new InvalidDataException($"{where}: '{key}' must be a string or a number"),
    };

    public static string Str(JsonElement row, string key, string where) => Field(row, key, where) switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString()!,
        { ValueKind: JsonValueKind.Number } n => n.GetRawText(),
        _ => throw new InvalidDataException($"{where}: '{key}' must be a string"),
    };

    public static string? OptStr(JsonElement row, string key) =>
        row.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.String or JsonValueKind.Number
            ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()) : null;

    public static JsonElement Field(JsonElement row, string key, string where) =>
        row.ValueKind == JsonValueKind.Object && row.TryGetProperty(key, out var v) ? v
            : throw new InvalidDataException($"{where}: missing field '{key}'");
}
