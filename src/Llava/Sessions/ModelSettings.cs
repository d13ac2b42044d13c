using System.Text.Json;
using MultiLora.Data.Images;

namespace MultiLora.Llava.Sessions;

/// <summary>
/// multilora.json, written next to the weights MultiLora trains: how the model was prompted and fed
/// (template, image aspect mode, resolution), so that loading it later needs no flags to match training.
/// </summary>
public sealed record ModelSettings(string? Template, string? Aspect, int? Resolution)
{
    public const string FileName = "multilora.json";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static ModelSettings? Read(string? dir)
    {
        if (dir is null) return null;
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<ModelSettings>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid ({e.Message})"); }
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static AspectMode ParseAspect(string value, string origin) => value switch
    {
        "crop" => AspectMode.Crop,
        "pad" => AspectMode.Pad,
        _ => throw new ArgumentException($"{origin} '{value}': expected crop or pad"),
    };
}
