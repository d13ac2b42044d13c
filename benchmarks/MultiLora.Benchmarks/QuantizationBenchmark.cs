using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MultiLora.Core.Runtime;
using MultiLora.Lora.Quantization;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks;

/// <summary>
/// NF4 (double-quant) quantization of a stack of linears, layer by layer as a model is quantized on
/// load: wall time, stored bits per parameter (every byte of every stored tensor), peak RSS.
/// Usage: quantization [--layers 6] [--dim 4096] [--device cpu|cuda] [--type nf4|int8]
/// (default 6 x 4096x4096 = 100.7M parameters, Llama-7B attention shapes).
/// </summary>
public static class QuantizationBenchmark
{
    public static int Run(string[] args)
    {
        int layers = IntArg(args, "--layers", 6);
        int dim = IntArg(args, "--dim", 4096);
        string deviceName = StringArg(args, "--device", "cpu");
        var type = StringArg(args, "--type", "nf4") switch
        {
            "nf4" => QuantType.Nf4,
            "int8" => QuantType.Int8,
            var other => throw new ArgumentException($"--type {other}: expected nf4 or int8"),
        };
        var device = TorchRuntime.ResolveDevice(deviceName);
        var cfg = QuantConfig.QLoRA with { Type = type };

        long parameters = 0, bytes = 0;
        double quantizeSeconds = 0, generateSeconds = 0;
        var gen = new Generator(1, device);
        var kept = new List<IDisposable>(); // the quantized stack stays alive, as in a model
        for (int i = 0; i < layers; i++)
        {
            var sw = Stopwatch.StartNew();
            var w = empty([dim, dim], device: device).normal_(0, 0.02, gen);
            if (device.type == DeviceType.CUDA) cuda.synchronize();
            generateSeconds += sw.Elapsed.TotalSeconds;
            sw.Restart();
            var layer = Quantizer.FromWeight(w, null, cfg); // disposes w
            if (device.type == DeviceType.CUDA) cuda.synchronize();
            quantizeSeconds += sw.Elapsed.TotalSeconds;
            parameters += (long)dim * dim;
            bytes += ((IQuantizedLinear)layer).StorageBytes;
            kept.Add(layer);
        }
        double bits = 8.0 * bytes / parameters;
        long peakRss = PeakRssBytes();

        var table = new Table().AddColumns("metric", "value");
        table.AddRow("device", device.ToString());
        table.AddRow("type", type.ToString());
        table.AddRow("layers x shape", $"{layers} x {dim}x{dim}");
        table.AddRow("parameters", parameters.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("quantize seconds (total)", quantizeSeconds.ToString("F3", CultureInfo.InvariantCulture));
        table.AddRow("quantize M params/s", (parameters / quantizeSeconds / 1e6).ToString("F1", CultureInfo.InvariantCulture));
        table.AddRow("stored bytes", bytes.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("bits / parameter", bits.ToString("F5", CultureInfo.InvariantCulture));
        table.AddRow("peak RSS MiB", (peakRss / 1048576.0).ToString("F1", CultureInfo.InvariantCulture));
        table.AddRow("fp32 stack MiB (never resident at once)", (parameters * 4 / 1048576.0).ToString("F1", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);

        var result = new
        {
            benchmark = "quantization", device = device.ToString(), type = type.ToString().ToLowerInvariant(), layers, dim,
            parameters, quantize_seconds = quantizeSeconds, weight_generation_seconds = generateSeconds,
            stored_bytes = bytes, bits_per_parameter = bits, peak_rss_bytes = peakRss,
        };
        Directory.CreateDirectory(Path.Combine("benchmarks", "results"));
        string file = Path.Combine("benchmarks", "results", $"quantization-{type.ToString().ToLowerInvariant()}-{deviceName.Replace(':', '_')}.json");
        File.WriteAllText(file, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
        AnsiConsole.MarkupLine($"wrote [green]{Markup.Escape(file)}[/]");
        foreach (var k in kept) k.Dispose();
        return 0;
    }

    /// <summary>VmHWM from /proc/self/status (Linux); -1 elsewhere.</summary>
    static long PeakRssBytes()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return -1;
        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        if (line is null) return -1;
        var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
        return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
    }

    static int IntArg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        if (i < 0) return fallback;
        if (i + 1 >= args.Length || !int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int v) || v <= 0)
            throw new ArgumentException($"{name}: expected a positive integer");
        return v;
    }

    static string StringArg(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        if (i < 0) return fallback;
        return i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{name}: expected a value");
    }
}
