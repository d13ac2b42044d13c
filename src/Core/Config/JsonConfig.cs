using System.Text.Json;

namespace MultiLora.Core.Config;

/// <summary>
/// Reads fields of a Hugging Face config.json object, naming the file and key in every error.
/// Unknown fields are ignored (configs carry many we do not use).
/// </summary>
public sealed class JsonConfig
{
    readonly JsonElement _element;

    /// <summary>"path/config.json" or "path/config.json: text_config" for nested objects.</summary>
    public string Origin { get; }

    public JsonConfig(JsonElement element, string origin)
    {
        if (element.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{origin}: expected a JSON object");
        _element = element;
        Origin = origin;
    }

    public static JsonConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: config file not found", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            return new JsonConfig(doc.RootElement.Clone(), path);
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
    }

    public bool Has(string key) => _element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    public JsonConfig? Object(string key) =>
        _element.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Object ? new JsonConfig(v, $"{Origin}: {key}") : null;

    public int Int(string key) => Has(key) ? Get(key, e => e.GetInt32()) : throw Missing(key);
    public int Int(string key, int fallback) => Has(key) ? Get(key, e => e.GetInt32()) : fallback;
    public int? IntOrNull(string key) => Has(key) ? Get(key, e => e.ValueKind == JsonValueKind.Array ? e[0].GetInt32() : e.GetInt32()) : null;
    public double Double(string key) => Has(key) ? Get(key, e => e.GetDouble()) : throw Missing(key);
    public double Double(string key, double fallback) => Has(key) ? Get(key, e => e.GetDouble()) : fallback;
    public bool Bool(string key, bool fallback) => Has(key) ? Get(key, e => e.GetBoolean()) : fallback;
    public string String(string key) => Has(key) ? Get(key, e => e.GetString()!) : throw Missing(key);
    public string String(string key, string fallback) => Has(key) ? Get(key, e => e.GetString()!) : fallback;
    public double[] Doubles(string key) => Has(key) ? Get(key, e => e.EnumerateArray().Select(x => x.GetDouble()).ToArray()) : throw Missing(key);

    /// <summary>The raw element, for fields that take several shapes (an int or a list).</summary>
    public JsonElement? Raw(string key) => _element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    T Get<T>(string key, Func<JsonElement, T> read)
    {
        var v = _element.GetProperty(key);
        try { return read(v); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{Origin}: field '{key}' has value {v.GetRawText()} of the wrong type");
        }
    }

    InvalidDataException Missing(string key) => new($"{Origin}: required field '{key}' is missing");
}
