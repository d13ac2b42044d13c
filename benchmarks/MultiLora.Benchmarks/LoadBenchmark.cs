using System.Diagnostics;
using System.Globalization;
using MultiLora.Core.Diagnostics;
using MultiLora.Language;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Model;
using MultiLora.Lora.Quantization;
using MultiLora.Vision;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks;

/// <summary>
/// Checkpoint load time and peak RSS. `load write DIR [--dtype bf16]` writes a synthetic LLaVA of about 1.4B
/// parameters (CLIP-L/14-336 tower + a TinyLlama-1.1B-shaped decoder, random weights) as a 4-shard
/// checkpoint; `load read DIR [--dtype bf16] [--quantize nf4|int8] [--path meta|init]` loads it in a fresh
/// process and reports seconds and peak RSS (run it as its own process: peak RSS is per process).
/// --quantize quantizes the language model's linears while loading; --path init measures the earlier
/// loader for comparison (random initialisation on the CPU, copy of the checkpoint into it, then, with
/// --quantize, QuantizeLinears on the full-precision model).
/// </summary>
static class LoadBenchmark
{
    const string Usage = "usage: load write DIR [--dtype float32|bfloat16] | load read DIR [--dtype float32|bfloat16] [--quantize nf4|int8] [--path meta|init]";

    public static int Run(string[] args)
    {
        if (args.Length < 2 || args.Length % 2 != 0) { Console.WriteLine(Usage); return 2; }
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 2; i < args.Length; i += 2) options[args[i]] = args[i + 1];
        if (options.Keys.Except(["--dtype", "--quantize", "--path"]).FirstOrDefault() is { } unknown) { Console.WriteLine($"unknown option {unknown}; {Usage}"); return 2; }
        var dtype = options.TryGetValue("--dtype", out var d) ? MultiLora.Core.Runtime.TorchRuntime.ResolveDType(d) : ScalarType.BFloat16;
        QuantConfig? quant = options.GetValueOrDefault("--quantize") switch
        {
            null or "none" => null,
            "nf4" => new QuantConfig { Type = QuantType.Nf4 },
            "int8" => new QuantConfig { Type = QuantType.Int8 },
            var q => throw new ArgumentException($"--quantize {q}: expected nf4, int8 or none"),
        };
        bool legacy = options.GetValueOrDefault("--path", "meta") switch
        {
            "meta" => false,
            "init" => true,
            var p => throw new ArgumentException($"--path {p}: expected meta or init"),
        };
        return args[0] == "write" ? Write(args[1], dtype) : Read(args[1], dtype, quant, legacy);
    }

    static LlavaConfig OneBillion() => new(
        new ClipVisionConfig(1024, 4096, 24, 16, 336, 14, 3, 1e-5, "quick_gelu"),
        new LlamaConfig(32064, 2048, 5632, 22, 32, 4, 64, 1e-5, new RopeSettings(10000), 2048, false, false, false, false, 1, 2, 0, "llama"),
        32000, -2, FeatureSelect.Patches, LlavaConfig.Mlp2xGelu, "gelu", true);

    static int Write(string dir, ScalarType dtype)
    {
        var clock = Stopwatch.StartNew();
        using var model = new LlavaForConditionalGeneration(OneBillion(), dtype);
        long parameters = model.parameters().Sum(p => p.numel());
        LlavaSaver.Save(dir, model, []);
        // shard it the way the hub does, so the sharded path is what gets measured
        using (var single = MultiLora.Core.Safetensors.SafetensorsCheckpoint.Open(dir))
        {
            var names = single.Names.Order(StringComparer.Ordinal).ToList();
            var map = new System.Text.Json.Nodes.JsonObject();
            const int shards = 4;
            for (int s = 0; s < shards; s++)
            {
                string file = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
                var part = names.Where((_, i) => i % shards == s).Select(n => KeyValuePair.Create(n, single.Load(n))).ToList();
                MultiLora.Core.Safetensors.SafetensorsWriter.Write(Path.Combine(dir, file), part, MultiLora.Core.Safetensors.SafetensorsWriter.PtMetadata);
                foreach (var (n, t) in part) { map[n] = file; t.Dispose(); }
            }
            File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), new System.Text.Json.Nodes.JsonObject { ["weight_map"] = map }.ToJsonString());
        }
        File.Delete(Path.Combine(dir, "model.safetensors"));
        long bytes = Directory.GetFiles(dir, "*.safetensors").Sum(f => new FileInfo(f).Length);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {parameters / 1e9:0.000}B parameters ({dtype}), {bytes / 1e9:0.00} GB in 4 shards, in {clock.Elapsed.TotalSeconds:0.0} s"));
        return 0;
    }

    static int Read(string dir, ScalarType dtype, QuantConfig? quant, bool legacy)
    {
        long before = MemoryProbe.ResidentBytes();
        var clock = Stopwatch.StartNew();
        using var model = legacy ? InitialiseThenCopy(dir, dtype, quant) : LlavaLoader.Load(dir, new LoadOptions(DType: dtype, Quantize: quant));
        double seconds = clock.Elapsed.TotalSeconds;
        var tensors = model.parameters().Cast<Tensor>().Concat(model.buffers()).ToList();
        long weightBytes = tensors.Sum(t => t.numel() * t.ElementSize);
        int quantized = model.modules().Count(m => m is IQuantizedLinear);
        string what = quant is null ? dtype.ToString() : $"{dtype} with {quantized} linears {quant.Type}";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(legacy ? "init+copy" : "meta")} load of {dir} as {what} in {seconds:0.00} s; weights {weightBytes / 1e9:0.00} GB; RSS before {MemoryProbe.Format(before)}, peak {MemoryProbe.Format(MemoryProbe.PeakResidentBytes())}"));
        return 0;
    }

    /// <summary>The loader before meta construction: random initialisation, copy, then quantization of the full model.</summary>
    static LlavaForConditionalGeneration InitialiseThenCopy(string dir, ScalarType dtype, QuantConfig? quant)
    {
        var model = new LlavaForConditionalGeneration(LlavaConfig.Load(Path.Combine(dir, "config.json")), dtype);
        using (var checkpoint = MultiLora.Core.Safetensors.SafetensorsCheckpoint.Open(dir))
            new WeightLoader(model).Load(checkpoint, KeyLayout.MapAny);
        if (quant is not null) Quantizer.QuantizeLinears(model, KeyLayout.LanguageRoot, quant);
        return model;
    }
}
