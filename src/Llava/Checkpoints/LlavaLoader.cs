using MultiLora.Core.Config;
using MultiLora.Core.Runtime;
using MultiLora.Core.Safetensors;
using MultiLora.Language;
using MultiLora.Llava.Model;
using MultiLora.Lora.Quantization;
using MultiLora.Lora.Surgery;
using MultiLora.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Checkpoints;

/// <summary>
/// Builds LLaVA models from checkpoint folders: a full llava checkpoint, or a CLIP tower + a Llama LM + a projector.
/// The model is first built on the meta device (shapes and dtypes, no memory, no random initialisation,
/// which was most of a load's time); each tensor read from the files then becomes its parameter, so the
/// weights are allocated once, by the read. Only a fresh projector is initialised randomly.
/// </summary>
public static class LlavaLoader
{
    /// <summary>A llava checkpoint folder (config.json model_type llava, safetensors single or sharded, any layout).</summary>
    public static LlavaForConditionalGeneration Load(string dir, LoadOptions options)
    {
        TorchRuntime.EnsureLoaded();
        string configPath = Path.Combine(dir, "config.json");
        var config = ApplyOverrides(LlavaConfig.Load(configPath), options);
        var model = new LlavaForConditionalGeneration(config, options.DType, META);
        try
        {
            if (JsonConfig.Load(configPath).Object(QuantizedLlava.ConfigKey) is { } stored)
            {
                // a stored quantized checkpoint loads as stored: asking for another type would be silently ignored
                var storedType = stored.Bool("load_in_4bit", false) ? QuantType.Nf4 : QuantType.Int8;
                if (options.Quantize is { } wanted && wanted.Type != storedType)
                    throw new InvalidDataException($"{configPath}: the checkpoint is stored {storedType.ToString().ToLowerInvariant()} ({QuantizedLlava.ConfigKey}); it cannot be loaded as {wanted.Type.ToString().ToLowerInvariant()}");
                QuantizedLlava.LoadWeights(model, dir);
            }
            else
            {
                using var checkpoint = SafetensorsCheckpoint.Open(dir);
                var quantized = QuantizeOnLoad.Apply(model, checkpoint, KeyLayout.MapAny, options.Quantize, TorchRuntime.ResolveDevice(options.Device));
                var loader = new WeightLoader(model, quantized);
                loader.Load(checkpoint, KeyLayout.MapAny);
                loader.RequireLoaded("", dir, TiedExemptions(config));
            }
            return Finish(model, dir, options);
        }
        catch
        {
            model.Dispose();
            throw;
        }
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
        var model = new LlavaForConditionalGeneration(config, options.DType, META);
        try
        {
            using (var language = SafetensorsCheckpoint.Open(sources.LanguageDir))
            {
                var quantized = QuantizeOnLoad.Apply(model, language, k => KeyLayout.Map(k, ModelPart.Language), options.Quantize, TorchRuntime.ResolveDevice(options.Device));
                var loader = new WeightLoader(model, quantized);
                using (var checkpoint = SafetensorsCheckpoint.Open(sources.VisionDir))
                    loader.Load(checkpoint, k => KeyLayout.Map(k, ModelPart.Vision));
                loader.RequireLoaded(KeyLayout.VisionRoot, sources.VisionDir);
                LoadLanguage(model, loader, language, sources.LanguageDir);
            }
            LoadProjector(model, sources.ProjectorPath, options.DType);
            return Finish(model, sources.ToString(), options);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Projector weights from <paramref name="path"/>, or a freshly initialised projector when there are none yet.</summary>
    static void LoadProjector(LlavaForConditionalGeneration model, string? path, ScalarType dtype)
    {
        if (path is null)
        {
            ModuleSurgery.Replace(model, "model.multi_modal_projector", new MultiModalProjector(model.Config, dtype)).Dispose();
            return;
        }
        using var checkpoint = SafetensorsCheckpoint.Open(path);
        var projectorOnly = new WeightLoader(model.model.multi_modal_projector);
        int n = projectorOnly.Load(checkpoint, k => KeyLayout.Map(k, ModelPart.Projector)![KeyLayout.ProjectorRoot.Length..],
            skip: k => KeyLayout.Map(k, ModelPart.Projector) is null);
        if (n == 0) throw new InvalidDataException($"{path}: no projector weights (multi_modal_projector.* or mm_projector.*) found");
        projectorOnly.RequireLoaded("", path);
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
        foreach (var key in vocabKeys)
        {
            string name = KeyLayout.Map(key, ModelPart.Language)!;
            var target = loader.Target(name);
            using var value = checkpoint.Load(key);
            long rows = value.shape[0], added = target.shape[0] - rows;
            var grown = empty(target.shape, dtype: target.dtype);
            using (no_grad())
            {
                grown.narrow(0, 0, rows).copy_(value);
                grown.narrow(0, rows, added).copy_(value.mean([0L], keepdim: true).expand(added, -1));
            }
            loader.Put(name, target, grown);
        }
    }

    static IEnumerable<string> TiedExemptions(LlavaConfig c) => c.Text.TieWordEmbeddings ? [KeyLayout.LmHead + "weight"] : [];

    static LlavaConfig ApplyOverrides(LlavaConfig c, LoadOptions o) => c with
    {
        VisionFeatureLayer = o.VisionFeatureLayer ?? c.VisionFeatureLayer,
        FeatureSelect = o.FeatureSelect ?? c.FeatureSelect,
    };

    /// <summary>Re-ties the head, checks every tensor got a value, and places the model on its device.</summary>
    static LlavaForConditionalGeneration Finish(LlavaForConditionalGeneration model, string origin, LoadOptions options)
    {
        model.TieWeights();
        var unset = model.named_parameters().Where(p => p.parameter.is_meta).Select(p => p.name)
            .Concat(model.named_buffers().Where(b => b.buffer.is_meta).Select(b => b.name)).ToList();
        if (unset.Count > 0)
            throw new InvalidDataException($"{origin}: {unset.Count} tensor(s) of the model got no value from the checkpoint, e.g. {string.Join(", ", unset.Take(5))}");
        var device = TorchRuntime.ResolveDevice(options.Device);
        if (device.type != DeviceType.CPU) model.to(device);
        model.eval();
        return model;
    }
}
