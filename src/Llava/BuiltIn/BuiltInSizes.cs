namespace MultiLora.Llava.BuiltIn;

/// <summary>
/// Named sizes of the built-in LLaVA (recipe key model.builtin), a scaling grid's model-size axis at toy scale.
/// As in Lu et al. 2023 the vision tower is the same for every size and the language model grows.
/// </summary>
public static class BuiltInSizes
{
    static readonly Dictionary<string, TinyLlavaPreset> Presets = new(StringComparer.Ordinal)
    {
        // the tests' size: a few seconds per run
        ["micro"] = new TinyLlavaPreset(ImageSize: 16, VisionHidden: 32, VisionLayers: 2, TextHidden: 64, TextLayers: 2, TextIntermediate: 128),
        // the quickstart's model
        ["tiny"] = new TinyLlavaPreset(),
        // the same tower, a decoder twice as wide (about 3x the language model's parameters)
        ["small"] = new TinyLlavaPreset(TextHidden: 256, TextHeads: 8, TextKvHeads: 4, TextIntermediate: 688),
    };

    public static IReadOnlyCollection<string> Names => Presets.Keys;

    public static TinyLlavaPreset Get(string name) => Presets.TryGetValue(name, out var p)
        ? p : throw new ArgumentException($"unknown built-in model size '{name}' (known: {string.Join(", ", Presets.Keys)})");
}
