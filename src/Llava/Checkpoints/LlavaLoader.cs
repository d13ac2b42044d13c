using MultiLora.Core.Config;
using MultiLora.Core.Runtime;
using MultiLora.Core.Safetensors;
using MultiLora.Language;
using MultiLora.Llava.Model;
using MultiLora.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Checkpoints;

/// <summary>How to materialise a model: dtype of weights and activations, device, and overrides of the config.</summary>
public sealed record LoadOptions(
    ScalarType DType = ScalarType.Float32,
    string Device = "cpu",
    int? VisionFeatureLayer = null,
    FeatureSelect? FeatureSelect = null);

/// <summary>Where the parts of a composed model come from.</summary>
public sealed record CompositionSources(string VisionDir, string LanguageDir, string? ProjectorPath, string ProjectorType = LlavaConfig.Mlp2xGelu);

/// <summary>Builds LLaVA models from checkpoint folders: a full llava checkpoint, or a CLIP tower + a Llama LM + a projector.</summary>
public static class LlavaLoader
{
    /// <summary>A llava checkpoint folder (config.json model_type llava, safetensors single or sharded, any layout).</summary>
    public static LlavaForConditionalGeneration Load(string dir, LoadOptions options)
    {
        TorchRuntime.EnsureLoaded();
        string configPath = Path.Combine(dir, "config.json");
        var config = ApplyOverrides(LlavaConfig.Load(configPath), options);
        var model = new LlavaForConditionalGeneration(config, options.DType);
        if (JsonConfig.Load(configPath).Object(QuantizedLlava.ConfigKey) is not null)
        {
            QuantizedLlava.LoadWeights(model, dir);
            return Place(model, options);
        }
        using (var checkpoint = SafetensorsCheckpoint.Open(dir))
        {
            var loader = new WeightLoader(model);
            loader.Load(checkpoint, KeyLayout.MapAny);
            loader.RequireLoaded("", dir, TiedExemptions(config));
        }
        return Place(model, options);
    }

    /// <summary>
    /// A new LLaVA from a CLIP checkpoint (CLIPVisionModel or CLIPModel), a Llama-family checkpoint and a
    /// projector (safetensors with projector keys, e.g. a llava checkpoint or a stage-1 output; or fresh when null).
    /// </summary>
    public static LlavaForConditionalGeneration Compose(CompositionSources sources, int imageTokenId, LoadOptions options)
    {
        TorchRuntime.EnsureLoaded();
        var vision = ClipVisionConfig.Load(Path.Combine(sources.VisionDir, "config.json"));
        var text = LlamaConfig.Load(Path.Combine(sources.LanguageDir, "config.json"));
        if (imageTokenId >= text.VocabSize) text = text with { VocabSize = imageTokenId + 1 };
        var config = ApplyOverrides(new LlavaConfig(vision, text, imageTokenId, -2, FeatureSelect.Patches, sources.ProjectorType, "gelu", true), options);
        var model = new LlavaForConditionalGeneration(config, options.DType);
        var loader = new WeightLoader(model);
        using (var checkpoint = SafetensorsCheckpoint.Open(sources.VisionDir))
            loader.Load(checkpoint, k => KeyLayout.Map(k, ModelPart.Vision));
        loader.RequireLoaded(KeyLayout.VisionRoot, sources.VisionDir);
        using (var checkpoint = SafetensorsCheckpoint.Open(sources.LanguageDir))
            LoadLanguage(model, loader, checkpoint, sources.LanguageDir);
        if (sources.ProjectorPath is { } projector)
        {
            using var checkpoint = SafetensorsCheckpoint.Open(projector);
            var projectorOnly = new WeightLoader(model.model.multi_modal_projector);
            int n = projectorOnly.Load(checkpoint, k => KeyLayout.Map(k, ModelPart.Projector)![KeyLayout.ProjectorRoot.Length..],
                skip: k => KeyLayout.Map(k, ModelPart.Projector) is null);
            if (n == 0) throw new InvalidDataException($"{projector}: no projector weights (multi_modal_projector.* or mm_projector.*) found");
            projectorOnly.RequireLoaded("", projector);
        }
        return Place(model, options);
    }

    /// <summary>Vocabulary rows past the checkpoint's (an added &lt;image&gt; token) start as the mean embedding.</summary>
    static void LoadLanguage(LlavaForConditionalGeneration model, WeightLoader loader, SafetensorsCheckpoint checkpoint, string origin)
    {
        var embedKey = checkpoint.Names.FirstOrDefault(k => KeyLayout.Map(k, ModelPart.Language) == KeyLayout.LanguageRoot + "embed_tokens.weight");
        long stored = embedKey is null ? model.Config.Text.VocabSize : checkpoint.Entry(embedKey).Shape[0];
        if (stored == model.Config.Text.VocabSize)
        {
            loader.Load(checkpoint, k => KeyLayout.Map(k, ModelPart.Language));
            loader.RequireLoaded(KeyLayout.LanguageRoot, origin);
            loader.RequireLoaded(KeyLayout.LmHead, origin, TiedExemptions(model.Config));
            return;
        }
        // Grow the vocabulary: load everything else normally, the two vocab matrices row-wise.
        var vocabKeys = checkpoint.Names.Where(k => KeyLayout.Map(k, ModelPart.Language) is KeyLayout.LanguageRoot + "embed_tokens.weight" or KeyLayout.LmHead + "weight").ToHashSet();
        loader.Load(checkpoint, k => KeyLayout.Map(k, ModelPart.Language), skip: vocabKeys.Contains);
        var vocabNames = vocabKeys.Select(k => KeyLayout.Map(k, ModelPart.Language)!).ToList();
        loader.RequireLoaded(KeyLayout.LanguageRoot, origin, vocabNames);
        loader.RequireLoaded(KeyLayout.LmHead, origin, [.. vocabNames, .. TiedExemptions(model.Config)]);
        using var _ = no_grad();
        foreach (var key in vocabKeys)
        {
            var target = KeyLayout.Map(key, ModelPart.Language) == KeyLayout.LmHead + "weight"
                ? ((TorchSharp.Modules.Linear)model.lm_head).weight!
                : model.model.language_model.embed_tokens.weight!;
            using var value = checkpoint.Load(key);
            target.narrow(0, 0, value.shape[0]).copy_(value);
            target.narrow(0, value.shape[0], target.shape[0] - value.shape[0]).copy_(value.mean([0L], keepdim: true).expand(target.shape[0] - value.shape[0], -1));
        }
    }

    static IEnumerable<string> TiedExemptions(LlavaConfig c) => c.Text.TieWordEmbeddings ? [KeyLayout.LmHead + "weight"] : [];

    static LlavaConfig ApplyOverrides(LlavaConfig c, LoadOptions o) => c with
    {
        VisionFeatureLayer = o.VisionFeatureLayer ?? c.VisionFeatureLayer,
        FeatureSelect = o.FeatureSelect ?? c.FeatureSelect,
    };

    static LlavaForConditionalGeneration Place(LlavaForConditionalGeneration model, LoadOptions options)
    {
        var device = TorchRuntime.ResolveDevice(options.Device);
        if (device.type != DeviceType.CPU) model.to(device);
        model.eval();
        return model;
    }
}
