using MultiLora.Core.Runtime;
using MultiLora.Language;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Model;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Vision;
using static TorchSharp.torch;

namespace MultiLora.Sweeps.Planning;

/// <summary>
/// A run's parameters and the memory its weights, adapters, gradients and AdamW state take (activations not
/// included: they depend on batch, length and checkpointing). Read from config files alone, so a grid can be
/// planned before anything is downloaded.
/// </summary>
public sealed record ParameterEstimate(long Total, long Trainable, long WeightBytes, long AdapterBytes, long GradientBytes, long OptimizerBytes)
{
    public long TotalBytes => WeightBytes + AdapterBytes + GradientBytes + OptimizerBytes;
}

/// <summary>
/// Counts parameters on a model built on the meta device (shapes only, no memory) and applies the run's method
/// as <see cref="TrainingSetup"/> does: stage 1 trains the projector; full the language model and projector;
/// LoRA/QLoRA r x (in + out) per targeted language-model linear plus the projector; QLoRA stores those linears
/// in NF4 (4.127 bits with double quantization, 4.5 without) or int8.
/// </summary>
public static class ParameterEstimator
{
    const string LanguagePrefix = "model.language_model.";

    public static ParameterEstimate For(SweepPlan plan, PlannedRun run)
    {
        var root = plan.Upstream(run).LastOrDefault() ?? run;
        return Estimate(ConfigOf(root.Recipe), run.Recipe);
    }

    public static ParameterEstimate Estimate(LlavaConfig config, TrainRecipe r)
    {
        TorchRuntime.EnsureLoaded();
        var dtype = TorchRuntime.ResolveDType(r.Dtype);
        var trainDtype = TorchRuntime.ResolveDType(r.EffectiveTrainableDtype);
        using var model = new LlavaForConditionalGeneration(config, dtype, META);
        var method = r.EffectiveMethod;
        long total = 0, trainable = 0, lora = 0, weightBytes = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            if (config.Text.TieWordEmbeddings && name == "lm_head.weight") continue;
            long n = p.numel();
            total += n;
            bool projector = name.Contains(TrainingSetup.ProjectorModule, StringComparison.Ordinal);
            bool vision = name.Contains(TrainingSetup.VisionModule, StringComparison.Ordinal);
            bool language = !projector && !vision;
            bool linear = language && name.StartsWith(LanguagePrefix, StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal) && p.shape.Length == 2
                && !name.Contains("embed_tokens", StringComparison.Ordinal);
            bool trains = projector || (vision && r.UnfreezeVisionTower) || (language && method == TrainMethod.Full);
            if (trains) trainable += n;
            weightBytes += trains ? n * Bytes(trainDtype) : method == TrainMethod.Qlora && linear ? Quantized(n, p.shape[0], r.Quant) : n * Bytes(dtype);
            if (linear && method is TrainMethod.Lora or TrainMethod.Qlora && r.Lora.Targets.Contains(name.Split('.')[^2]))
                lora += (long)r.Lora.Rank * (p.shape[0] + p.shape[1]);
        }
        total += lora;
        trainable += lora;
        long perParam = Bytes(trainDtype);
        return new ParameterEstimate(total, trainable, weightBytes, lora * perParam, trainable * perParam, 2 * trainable * perParam);
    }

    static long Bytes(ScalarType t) => t is ScalarType.Float32 ? 4 : t is ScalarType.BFloat16 or ScalarType.Float16 ? 2 : 4;

    /// <summary>bitsandbytes' storage: NF4 packs two codes a byte plus one absmax per block (8-bit, double-quantized, or fp32); int8 one byte plus a row scale.</summary>
    static long Quantized(long n, long rows, QuantSection q) => q.Type == "int8"
        ? n + rows * 4
        : n / 2 + (q.DoubleQuant ? n / q.BlockSize + n / (q.BlockSize * 256L) * 4 : n / q.BlockSize * 4);

    /// <summary>The architecture a recipe starts from: a built-in size, a llava folder's config.json, or a CLIP + Llama composition.</summary>
    public static LlavaConfig ConfigOf(TrainRecipe r)
    {
        if (r.Model.Builtin is { } size) return BuiltInSizes.Get(size).ToConfig();
        if (r.Model.Path is { } path) return LlavaConfig.Load(Path.Combine(path, "config.json"));
        if (r.Model.Vision is { } v && r.Model.Language is { } l)
        {
            var vision = ClipVisionConfig.Load(Path.Combine(v, "config.json"));
            var text = LlamaConfig.Load(Path.Combine(l, "config.json"));
            // LLaVA adds an <image> token after the vocabulary when the tokenizer has none
            text = text with { VocabSize = text.VocabSize + 1 };
            return new LlavaConfig(vision, text, text.VocabSize - 1, -2, FeatureSelect.Patches, LlavaConfig.Mlp2xGelu, "gelu", true);
        }
        throw new InvalidDataException("recipe: no model (model.path, model.vision + model.language, or model.builtin)");
    }
}
