using System.Globalization;
using System.Text.Json;
using MultiLora.Core.Diagnostics;
using MultiLora.Core.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks.Anchor;

/// <summary>
/// `anchor`: issue 16's rows (training and generation at the shapes of CLIP-L/14 + TinyLlama-1.1B / Llama-7B) with
/// random weights, printing samples/s, tokens/s, MFU against the device's measured matmul peak and peak memory,
/// and appending one JSON line per row to --out (benchmarks/gpu/run-comparison.sh joins them with hf_anchor.py's).
/// </summary>
public static class AnchorBenchmark
{
    const string Usage = "usage: anchor [--presets all|NAME,...] [--device cuda|cpu|auto] [--dtype bfloat16|float32] [--steps 6] [--cpu-small] "
        + "[--memory allocator|nvml] [--out FILE.jsonl] | anchor --list | anchor --probe-memory";

    public static int Run(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        string[] valued = ["--presets", "--device", "--dtype", "--steps", "--memory", "--out"];
        string[] switches = ["--cpu-small", "--list", "--probe-memory"];
        for (int i = 0; i < args.Length; i++)
        {
            if (valued.Contains(args[i]) && i + 1 < args.Length) options[args[i]] = args[++i];
            else if (switches.Contains(args[i])) flags.Add(args[i]);
            else { Console.Error.WriteLine($"anchor: unknown or incomplete option '{args[i]}'\n{Usage}"); return 2; }
        }
        bool small = flags.Contains("--cpu-small");
        var presets = SelectPresets(options.GetValueOrDefault("--presets", "all"), small);
        if (flags.Contains("--list"))
        {
            foreach (var p in presets) Console.WriteLine(p.Name);
            return 0;
        }
        if (flags.Contains("--probe-memory"))
        {
            bool ok = CudaAllocatorStats.Probe();
            Console.WriteLine($"allocator statistics: {(ok ? "available" : "unavailable")}: {CudaAllocatorStats.Description}");
            return ok ? 0 : 3;
        }

        var device = TorchRuntime.ResolveDevice(options.GetValueOrDefault("--device", "auto"));
        var dtype = TorchRuntime.ResolveDType(options.GetValueOrDefault("--dtype", device.type == DeviceType.CUDA ? "bfloat16" : "float32"));
        int steps = int.Parse(options.GetValueOrDefault("--steps", "6"), CultureInfo.InvariantCulture);
        if (steps < 1) throw new ArgumentException("--steps must be at least 1");
        string memory = options.GetValueOrDefault("--memory", "allocator");
        if (memory is not ("allocator" or "nvml")) throw new ArgumentException($"--memory {memory}: expected allocator or nvml");
        if (device.type == DeviceType.CUDA)
        {
            // float32 rows must be float32 (the parity tests' setting); bf16 rows do not use TF32 either way
            backends.cuda.matmul.allow_tf32 = false;
        }

        using var meter = new PeakMeter(device, memory == "allocator");
        double peak = DevicePeak.MatmulTflops(device, dtype);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"device {device}, {dtype}; measured {dtype} matmul peak {peak:0.000} TFLOP/s; memory: {meter.Description}"));
        int failures = 0;
        foreach (var p in presets)
        {
            AnchorResult row;
            try
            {
                row = p.Kind == AnchorKind.Train ? AnchorTrainRun.Run(p, device, dtype, steps, meter, peak) : AnchorGenerateRun.Run(p, device, dtype, meter);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failures++;
                row = new AnchorResult { Name = p.Name, Kind = p.Kind == AnchorKind.Train ? "train" : "generate", Device = device.ToString(), Error = e.Message.Split('\n')[0] };
            }
            Print(row);
            if (options.TryGetValue("--out", out var outFile))
                File.AppendAllText(outFile, JsonSerializer.Serialize(row, AnchorResult.Json) + "\n");
        }
        return failures == 0 ? 0 : 1;
    }

    static List<AnchorPreset> SelectPresets(string selection, bool small)
    {
        var chosen = selection == "all" ? AnchorPreset.All.ToList()
            : selection.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(AnchorPreset.Find).ToList();
        return small ? chosen.Select(p => p.CpuSmall()).ToList() : chosen;
    }

    static void Print(AnchorResult r)
    {
        string F(double? v, string f) => v is null ? "-" : v.Value.ToString(f, CultureInfo.InvariantCulture);
        string peak = $"peak allocated {F(r.PeakGib, "0.00")} GiB, device used {F(r.PeakDeviceUsedGib, "0.00")} GiB, RSS {F(r.PeakRssGib, "0.00")} GiB";
        Console.WriteLine(r.Error is not null ? $"{r.Name}: FAILED: {r.Error}"
            : r.Kind == "train"
                ? $"{r.Name}: {F(r.SamplesPerS, "0.00")} samples/s, {F(r.TokensPerS, "0")} tokens/s, step {F(r.StepS, "0.000")} s, MFU {F(r.Mfu * 100, "0.0")}%, {peak}, loss {F(r.FinalLoss, "0.000")}, params {F(r.ParamsB, "0.000")}B, trainable {F(r.TrainableM, "0.0")}M"
                : $"{r.Name}: {F(r.GenTokensPerS, "0.0")} new tokens/s ({r.NewTokens} x {r.Batch} in {F(r.TotalS, "0.00")} s), {peak}");
    }
}
