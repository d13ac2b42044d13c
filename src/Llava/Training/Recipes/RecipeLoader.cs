using System.Globalization;
using MultiLora.Core.Runtime;
using MultiLora.Data.Specs;
using static TorchSharp.torch;
using YamlDotNet.RepresentationModel;

namespace MultiLora.Llava.Training.Recipes;

/// <summary>Reads a recipe YAML, applies --set key.path=value overrides, and resolves relative paths.</summary>
public static class RecipeLoader
{
    public static TrainRecipe Load(string? path, IReadOnlyList<string> overrides)
    {
        var root = new YamlMappingNode();
        string origin = path ?? "built-in defaults";
        if (path is not null)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: recipe not found", path);
            var stream = new YamlStream();
            using (var reader = new StringReader(File.ReadAllText(path))) stream.Load(reader);
            if (stream.Documents.Count > 0)
                root = stream.Documents[0].RootNode as YamlMappingNode ?? throw new InvalidDataException($"{path}: a recipe is a YAML mapping");
        }
        foreach (var o in overrides) Apply(root, o);

        var writer = new StringWriter(CultureInfo.InvariantCulture);
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        string text = writer.ToString().TrimEnd().TrimEnd('.').TrimEnd();
        var recipe = text is "" or "{}" ? new TrainRecipe() : StrictYaml.Parse<TrainRecipe>(text, overrides.Count > 0 ? $"{origin} with --set {string.Join(" ", overrides)}" : origin);
        _ = recipe.ParsedMethod;
        _ = recipe.ParsedReleaseMemory;
        Validate(recipe, origin);
        if (path is not null) ResolvePaths(recipe, Path.GetDirectoryName(Path.GetFullPath(path))!);
        return recipe;
    }

    /// <summary>"lora.rank=64": walks/creates the mapping path and sets the scalar.</summary>
    static void Apply(YamlMappingNode root, string assignment)
    {
        int eq = assignment.IndexOf('=');
        if (eq <= 0) throw new ArgumentException($"--set {assignment}: expected key.path=value");
        var keys = assignment[..eq].Trim().Split('.');
        string value = assignment[(eq + 1)..].Trim();
        var node = root;
        foreach (var key in keys[..^1])
        {
            var k = new YamlScalarNode(key);
            if (!node.Children.TryGetValue(k, out var child) || child is not YamlMappingNode map)
            {
                map = new YamlMappingNode();
                node.Children[k] = map;
            }
            node = map;
        }
        node.Children[new YamlScalarNode(keys[^1])] = value.StartsWith('[')
            ? ParseFlowSequence(value)
            : new YamlScalarNode(value);
    }

    static YamlSequenceNode ParseFlowSequence(string value) =>
        new(value.Trim('[', ']').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => new YamlScalarNode(v)));

    static void Validate(TrainRecipe r, string origin)
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new InvalidDataException($"{origin}: {message}");
        }
        Require(r.Stage is 1 or 2, $"stage must be 1 or 2, got {r.Stage}");
        Require(r.BatchSize > 0, $"batch_size must be positive, got {r.BatchSize}");
        Require(r.GradAccum > 0, $"grad_accum must be positive, got {r.GradAccum}");
        Require(r.Epochs > 0 || r.MaxSteps > 0, "set epochs or max_steps");
        Require(r.Lora.Rank > 0, $"lora.rank must be positive, got {r.Lora.Rank}");
        Require(r.Optim.Lr > 0, $"optim.lr must be positive, got {r.Optim.Lr}");
        Require(r.Optim.WarmupRatio is >= 0 and < 1, $"optim.warmup_ratio must be in [0, 1), got {r.Optim.WarmupRatio}");
        Require(r.Optim.Schedule is "cosine" or "linear" or "constant", $"optim.schedule '{r.Optim.Schedule}' is not cosine|linear|constant");
        Require(r.Quant.Type is "nf4" or "int8", $"quant.type '{r.Quant.Type}' is not nf4|int8");
        Require(r.Data.Aspect is "pad" or "crop", $"data.aspect '{r.Data.Aspect}' is not pad|crop");
        Require(r.EvalEvery == 0 || r.Data.Eval is not null, "eval_every needs data.eval (a held-out spec)");
        Require(r.Data.TextMix is null or (>= 0 and < 1), $"data.text_mix must be in [0, 1), got {r.Data.TextMix}");
        Require(r.Model.Builtin is null || BuiltIn.BuiltInSizes.Names.Contains(r.Model.Builtin),
            $"model.builtin '{r.Model.Builtin}' is not one of {string.Join("|", BuiltIn.BuiltInSizes.Names)}");
        Require(r.Model.Builtin is null || (r.Model.Path is null && r.Model.Vision is null && r.Model.Language is null),
            "model.builtin is set together with model.path or model.vision/language: give one model");
        Require(r.Optim.VisionLr is null || r.Optim.VisionLr > 0, $"optim.vision_lr must be positive, got {r.Optim.VisionLr}");
        Require(r.Optim.VisionLr is null || r.UnfreezeVisionTower, "optim.vision_lr is set but unfreeze_vision_tower is false (the tower would stay frozen)");
        Require(MultiLora.Distributed.DistributedBackends.TryParse(r.Distributed.Backend, out _),
            $"distributed.backend '{r.Distributed.Backend}' is not one of {MultiLora.Distributed.DistributedBackends.Choices}");
        Require(r.Distributed.HeartbeatTimeoutS > 0, $"distributed.heartbeat_timeout_s must be positive, got {r.Distributed.HeartbeatTimeoutS}");
        Require(r.Distributed.CollectiveTimeoutS > 0, $"distributed.collective_timeout_s must be positive, got {r.Distributed.CollectiveTimeoutS}");
        Require(r.Distributed.BucketMb > 0, $"distributed.bucket_mb must be positive, got {r.Distributed.BucketMb}");
        var dtype = DType(r.Dtype, "dtype", origin);
        if (r.TrainableDtype is { } explicitTrainable)
        {
            var trainable = DType(explicitTrainable, "trainable_dtype", origin);
            Require(trainable == ScalarType.Float32 || trainable == dtype,
                $"trainable_dtype '{explicitTrainable}' must be float32 or the same as dtype '{r.Dtype}'");
            // full trains the whole language model: an fp32 copy of it is the float32 model, not mixed precision
            Require(r.EffectiveMethod != TrainMethod.Full || trainable == dtype,
                $"trainable_dtype '{explicitTrainable}' with method full: full trains in dtype '{r.Dtype}' (use dtype: float32 for float32 training)");
        }
    }

    static ScalarType DType(string value, string key, string origin)
    {
        try { return TorchRuntime.ResolveDType(value); }
        catch (ArgumentException) { throw new InvalidDataException($"{origin}: {key} '{value}' is not float32|bfloat16|float16"); }
    }

    static void ResolvePaths(TrainRecipe r, string folder)
    {
        string? Full(string? p) => p is null ? null : Path.GetFullPath(p, folder);
        r.Model.Path = Full(r.Model.Path);
        r.Model.Vision = Full(r.Model.Vision);
        r.Model.Language = Full(r.Model.Language);
        r.Model.Projector = Full(r.Model.Projector);
        r.Data.Mixture = Full(r.Data.Mixture);
        r.Data.Eval = Full(r.Data.Eval);
        r.OutputDir = Full(r.OutputDir)!;
    }
}
