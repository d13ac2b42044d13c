using System.Globalization;
using System.Text.Json;
using MultiLora.Distributed;
using MultiLora.Language;
using MultiLora.Llava.Model;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Vision;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks;

/// <summary>
/// Computed, not trained: for LLaVA-1.5-shaped models (CLIP-L/14-336 + mlp2x projector + a Llama 7B/13B/33B/65B) built on
/// the meta device with each method applied exactly as the trainer applies it (TrainingSetup), the parameters that
/// train, the bytes one data-parallel step all-reduces (GradientBuckets over those parameters: gradients in their
/// dtype plus one int64 flag each) and the memory per device of weights + gradients + AdamW moments, replicated (DDP)
/// and sharded ZeRO-3/FSDP-style over 8 and 16 devices (plus two gathered decoder layers). Activations excluded.
/// Usage: distributed-plan [--lora-rank 128] [--models 7b,13b,33b,65b]. Figures go to docs/distributed.md.
/// </summary>
public static class DistributedPlanBenchmark
{
    /// <summary>NF4 with double quantization: 4 bits + an 8-bit absmax per 64 + a float32 per 256 blocks.</summary>
    const double Nf4BitsPerWeight = 4 + 8.0 / 64 + 32.0 / (64 * 256);

    static readonly Dictionary<string, LlamaConfig> Models = new()
    {
        ["7b"] = Llama(4096, 11008, 32, 32),     // Vicuna-7B v1.5
        ["13b"] = Llama(5120, 13824, 40, 40),    // Vicuna-13B v1.5
        ["33b"] = Llama(6656, 17920, 60, 52),    // Vicuna-33B v1.3 (LLaMA-30B shape)
        ["65b"] = Llama(8192, 22016, 80, 64),    // LLaMA-65B
    };

    static LlamaConfig Llama(int hidden, int intermediate, int layers, int heads) =>
        new(32000, hidden, intermediate, layers, heads, heads, hidden / heads, 1e-5, new RopeSettings(10000), 4096, false, false, false, false, 1, 2, 0, "llama");

    static readonly ClipVisionConfig ClipL336 = new(1024, 4096, 24, 16, 336, 14, 3, 1e-5, "quick_gelu");

    public static int Run(string[] args)
    {
        int rank = int.Parse(Arg(args, "--lora-rank", "128"), CultureInfo.InvariantCulture);
        if (!AnsiConsole.Profile.Capabilities.Interactive) AnsiConsole.Profile.Width = 160;   // tables, not wrapped columns, in logs
        var names = Arg(args, "--models", "7b,13b,33b,65b").Split(',');
        var rows = new List<Row>();
        foreach (var name in names)
        {
            var text = Models.TryGetValue(name, out var t) ? t : throw new ArgumentException($"--models: unknown model '{name}' (7b, 13b, 33b, 65b)");
            foreach (var method in new[] { "full", "lora", "qlora" }) rows.Add(Plan(name, text, method, rank));
        }

        var bytesTable = new Table().AddColumns("model", "method", "parameters", "trainable", "grad dtype", "all-reduced / step", "buckets (25 MiB)", "mpi wire (float32)");
        foreach (var r in rows)
            bytesTable.AddRow(r.Model, r.Method, B(r.Parameters), B(r.Trainable), r.GradDtype, GiB(r.AllReducedBytes), r.Buckets.ToString(CultureInfo.InvariantCulture), GiB(r.MpiWireBytes));
        var memoryTable = new Table().AddColumns("model", "method", "frozen weights", "trainable + grads + AdamW", "1 device (DDP)", "ZeRO-3 x8", "ZeRO-3 x16");
        foreach (var r in rows)
            memoryTable.AddRow(r.Model, r.Method, GiB(r.FrozenBytes), GiB(r.TrainingStateBytes), GiB(r.Replicated), GiB(r.Sharded(8)), GiB(r.Sharded(16)));
        AnsiConsole.MarkupLine($"LLaVA-1.5 shapes (CLIP-L/14-336 + mlp2x_gelu projector), bf16 base, LoRA r{rank} alpha {2 * rank} on all LM linears, AdamW; activations excluded");
        AnsiConsole.Write(bytesTable);
        AnsiConsole.Write(memoryTable);
        Directory.CreateDirectory(Path.Combine("benchmarks", "results"));
        string file = Path.Combine("benchmarks", "results", "distributed-plan.json");
        File.WriteAllText(file, JsonSerializer.Serialize(rows.Select(r => new
        {
            r.Model, r.Method, r.Parameters, r.Trainable, r.GradDtype, r.AllReducedBytes, r.Buckets, r.MpiWireBytes, r.FrozenBytes, r.TrainingStateBytes,
            replicated = r.Replicated, zero3_8 = r.Sharded(8), zero3_16 = r.Sharded(16),
        }), new JsonSerializerOptions { WriteIndented = true }));
        AnsiConsole.MarkupLine($"wrote [green]{Markup.Escape(file)}[/]");
        return 0;
    }

    sealed record Row(string Model, string Method, long Parameters, long Trainable, string GradDtype, long AllReducedBytes, int Buckets, long MpiWireBytes,
        long FrozenBytes, long TrainingStateBytes, long LargestLayerBytes)
    {
        public long Replicated => FrozenBytes + TrainingStateBytes;
        /// <summary>Everything divided over N devices, plus two decoder layers gathered at a time (the current one and a prefetch).</summary>
        public long Sharded(int devices) => Replicated / devices + 2 * LargestLayerBytes;
    }

    static Row Plan(string name, LlamaConfig text, string method, int rank)
    {
        using var scope = NewDisposeScope();
        var config = new LlavaConfig(ClipL336, text, 32000, -2, FeatureSelect.Patches, LlavaConfig.Mlp2xGelu, "gelu", true);
        using var model = new LlavaForConditionalGeneration(config, ScalarType.BFloat16, META);
        // QLoRA trains exactly LoRA's parameters (quantization only changes how the frozen linears are stored; a meta
        // model cannot be quantized), so the trainable set comes from lora and the frozen storage is computed below
        var recipe = new TrainRecipe { Method = method == "qlora" ? "lora" : method, Dtype = "bfloat16", Lora = new LoraSection { Rank = rank } };
        var trainable = TrainingSetup.Apply(model, recipe);
        var trainableParams = trainable.All.Select(p => (Tensor)p.Parameter).ToList();
        var trainableSet = new HashSet<IntPtr>(trainableParams.Select(p => p.Handle));
        long total = 0, frozenBytes = 0;
        foreach (var (pname, p) in model.named_parameters())
        {
            bool isTrainable = trainableSet.Contains(p.Handle);
            bool tiedDuplicate = config.Text.TieWordEmbeddings && pname == "lm_head.weight";
            if (tiedDuplicate) continue;
            total += p.numel();
            if (isTrainable) continue;
            // the decoder layers' linears (under LoRA their weight is ...proj.base_layer.weight); embeddings, norms and lm_head stay bf16
            bool quantized = method == "qlora" && pname.StartsWith("model.language_model.layers.", StringComparison.Ordinal)
                && (pname.EndsWith("proj.weight", StringComparison.Ordinal) || pname.EndsWith("proj.base_layer.weight", StringComparison.Ordinal));
            frozenBytes += quantized ? (long)Math.Ceiling(p.numel() * Nf4BitsPerWeight / 8) : p.numel() * p.ElementSize;
        }
        var buckets = new GradientBuckets(trainableParams, new SingleProcessCollectives());
        long gradBytes = trainableParams.Sum(p => p.numel() * p.ElementSize);
        long trainableCount = trainableParams.Sum(p => p.numel());
        // weights + gradients + AdamW's two moments, all in the trainable dtype (the trainer's AdamW keeps moments in it)
        long state = 4 * gradBytes;
        long layer = model.model.language_model.parameters().Where(p => p.numel() > 0).Sum(p => p.numel() * 2) / text.NumLayers;
        string dtypes = string.Join("+", trainableParams.Select(p => p.dtype.ToString().ToLowerInvariant()).Distinct());
        return new Row(name, method, total, trainableCount, dtypes, buckets.FullStepBytes, buckets.Buckets.Count,
            trainableParams.Sum(p => p.numel() * 4) + trainableParams.Count * sizeof(long), frozenBytes, state, layer);
    }

    static string B(long n) => n >= 1e9 ? $"{n / 1e9:0.00}B" : $"{n / 1e6:0.0}M";
    static string GiB(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.0} GiB" : $"{bytes / (double)(1L << 20):0.0} MiB";

    static string Arg(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i < 0 ? fallback : i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{name}: expected a value");
    }
}
