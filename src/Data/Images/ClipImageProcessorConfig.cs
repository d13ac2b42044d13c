using System.Text.Json;
using System.Text.Json.Nodes;

namespace MultiLora.Data.Images;

/// <summary>
/// The fields of an HF CLIPImageProcessor's preprocessor_config.json that decide the pixels.
/// <paramref name="ShortestEdge"/> is set when "size" is {"shortest_edge": n} (or a bare int);
/// <paramref name="ResizeHeight"/>/<paramref name="ResizeWidth"/> when "size" is {"height", "width"}.
/// </summary>
public sealed record ClipImageProcessorConfig(
    bool DoResize,
    int? ShortestEdge,
    int? ResizeHeight,
    int? ResizeWidth,
    ResampleFilter Resample,
    bool DoCenterCrop,
    int CropHeight,
    int CropWidth,
    bool DoRescale,
    double RescaleFactor,
    bool DoNormalize,
    float[] ImageMean,
    float[] ImageStd)
{
    public const string FileName = "preprocessor_config.json";

    /// <summary>openai/clip-vit-* processor settings at <paramref name="size"/> (for a tower that ships no preprocessor_config.json).</summary>
    public static ClipImageProcessorConfig ClipDefaults(int size) => new(
        DoResize: true, ShortestEdge: size, ResizeHeight: null, ResizeWidth: null, Resample: ResampleFilter.Bicubic,
        DoCenterCrop: true, CropHeight: size, CropWidth: size, DoRescale: true, RescaleFactor: 1.0 / 255, DoNormalize: true,
        ImageMean: [0.48145466f, 0.4578275f, 0.40821073f], ImageStd: [0.26862954f, 0.26130258f, 0.27577711f]);

    /// <summary>Reads preprocessor_config.json from a model folder (or a path to the file itself).</summary>
    public static ClipImageProcessorConfig Load(string modelDirOrFile)
    {
        var path = Directory.Exists(modelDirOrFile) ? Path.Combine(modelDirOrFile, FileName) : modelDirOrFile;
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: image processor config not found", path);
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON ({e.Message})", e);
        }
        return Parse(json, path);
    }

    /// <summary>
    /// The do_* flags and rescale_factor/resample default to CLIPImageProcessor's class defaults; size, crop_size,
    /// image_mean and image_std are required when their step is on, since they are model-specific.
    /// </summary>
    public static ClipImageProcessorConfig Parse(JsonObject json, string origin)
    {
        var doResize = Flag(json, "do_resize", origin) ?? true;
        var doCrop = Flag(json, "do_center_crop", origin) ?? true;
        var doNormalize = Flag(json, "do_normalize", origin) ?? true;
        int? shortest = null, height = null, width = null;
        if (doResize)
        {
            var size = Required(json, "size", origin);
            if (size is JsonObject o && o["shortest_edge"] is not null) shortest = Int(o["shortest_edge"], "size.shortest_edge", origin);
            else if (size is JsonObject hw) (height, width) = (Int(hw["height"], "size.height", origin), Int(hw["width"], "size.width", origin));
            else shortest = Int(size, "size", origin);
        }
        var (cropH, cropW) = (0, 0);
        if (doCrop)
        {
            var crop = Required(json, "crop_size", origin);
            (cropH, cropW) = crop is JsonObject c
                ? (Int(c["height"], "crop_size.height", origin), Int(c["width"], "crop_size.width", origin))
                : (Int(crop, "crop_size", origin), Int(crop, "crop_size", origin));
        }
        var resampleCode = json["resample"] is null ? (int)ResampleFilter.Bicubic : Int(json["resample"], "resample", origin);
        if (!Enum.IsDefined((ResampleFilter)resampleCode))
            throw new InvalidDataException($"{origin}: resample {resampleCode} is not supported (1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)");
        return new ClipImageProcessorConfig(
            doResize, shortest, height, width, (ResampleFilter)resampleCode,
            doCrop, cropH, cropW,
            Flag(json, "do_rescale", origin) ?? true,
            json["rescale_factor"] is null ? 1.0 / 255 : Number(json["rescale_factor"], "rescale_factor", origin),
            doNormalize,
            doNormalize ? Triple(json, "image_mean", origin) : [0f, 0f, 0f],
            doNormalize ? Triple(json, "image_std", origin) : [1f, 1f, 1f]);
    }

    static JsonNode Required(JsonObject json, string key, string origin) =>
        json[key] ?? throw new InvalidDataException($"{origin}: missing key '{key}'");

    static bool? Flag(JsonObject json, string key, string origin) => json[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw new InvalidDataException($"{origin}: '{key}' must be true or false"),
    };

    static int Int(JsonNode? node, string key, string origin)
    {
        var value = Number(node, key, origin);
        if (value != Math.Floor(value) || value <= 0) throw new InvalidDataException($"{origin}: '{key}' must be a positive integer, got {value}");
        return (int)value;
    }

    static double Number(JsonNode? node, string key, string origin) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>()
        : throw new InvalidDataException($"{origin}: '{key}' must be a number");

    static float[] Triple(JsonObject json, string key, string origin) =>
        Required(json, key, origin) is JsonArray a && a.Count == 3
            ? a.Select((n, i) => (float)Number(n, $"{key}[{i}]", origin)).ToArray()
            : throw new InvalidDataException($"{origin}: '{key}' must be a list of 3 numbers");
}
