using System.Diagnostics;
using System.Globalization;
using MultiLora.Core.Diagnostics;
using MultiLora.Core.Optim;
using MultiLora.Core.Runtime;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks;

/// <summary>
/// One optimizer step of TorchSharp's stock AdamW against MultiLora's own (Core/Optim), and TorchSharp's
/// clip_grad_norm_ against ours, in one process on one model's trainable parameters (full fine-tuning and LoRA r64 of
/// the train benchmark's model: 9 decoder layers x 1024 by default). Every parameter gets a fixed random gradient once;
/// steps then alternate between the two implementations (each has its own moments), the first of each pair swapped
/// every round. Per step: wall time, minor page faults (/proc/self/stat), and how far resident memory rose above its
/// level before the step (VmHWM window). Each step is measured twice: on a warm heap (glibc keeps what the previous step
/// freed) and right after a heap release (malloc_trim, what release_memory auto/step do between training steps).
/// The stock optimizer and clip live here only, as the comparison baseline: production code uses Core/Optim.
/// Usage: optimizer [rounds=4] [layers=9] [hidden=1024] [--methods full,lora]
/// </summary>
static class OptimizerBenchmark
{
    public static int Run(string[] args)
    {
        int at = Array.IndexOf(args, "--methods");
        var methods = (at >= 0 && at + 1 < args.Length ? args[at + 1] : "full,lora").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var positional = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
        int Arg(int i, int fallback) => positional.Length > i ? int.Parse(positional[i], CultureInfo.InvariantCulture) : fallback;
        int rounds = Arg(0, 4), layers = Arg(1, 9), hidden = Arg(2, 1024);
        var root = Directory.CreateTempSubdirectory("multilora-optim-bench-").FullName;
        try
        {
            var preset = new TinyLlavaPreset(TextHidden: hidden, TextLayers: layers, TextHeads: hidden / 64, TextKvHeads: hidden / 128, TextIntermediate: hidden * 11 / 4);
            string modelDir = BuiltInModel.Write(Path.Combine(root, "base"), preset, seed: 0);
            Console.WriteLine($"model: {layers} decoder layers x {hidden}; {rounds} rounds; load average {LoadAverage()}");
            var rows = new List<(string Run, List<Sample> Samples)>();
            foreach (var method in methods)
                rows.AddRange(Measure(modelDir, method, rounds));

            Console.WriteLine("run                               steps  wall ms/step (min-max)   CPU ms/step   minor faults/step   step peak above start (MiB)");
            foreach (var (run, samples) in rows)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{run,-33} {samples.Count,5}  {samples.Average(s => s.Ms),7:0} ({samples.Min(s => s.Ms):0}-{samples.Max(s => s.Ms):0}){"",4} {samples.Average(s => s.CpuMs),9:0}   {samples.Average(s => s.Faults),10:0}  {samples.Average(s => s.PeakMiB),12:0} (max {samples.Max(s => s.PeakMiB):0})"));
            Console.WriteLine($"load average at the end {LoadAverage()}");
            return 0;
        }
        finally { Directory.Delete(root, true); }
    }

    sealed record Sample(double Ms, double CpuMs, long Faults, double PeakMiB);

    static List<(string, List<Sample>)> Measure(string modelDir, string method, int rounds)
    {
        using var scope = NewDisposeScope();
        using var model = LlavaLoader.Load(modelDir, new LoadOptions());
        var recipe = new TrainRecipe { Method = method, Lora = new LoraSection { Rank = 64 } };
        var trainable = TrainingSetup.Apply(model, recipe);
        var parameters = trainable.All.ToList();
        long count = parameters.Sum(p => p.Parameter.numel());
        Console.WriteLine($"{method}: {parameters.Count} trainable tensors, {count:N0} parameters");
        using (no_grad())
        {
            manual_seed(1);
            // fixed gradients, set once: both optimizers see the same ones, and only their own allocations are measured
            foreach (var (_, p) in parameters) p.grad = randn_like(p).mul_(Core.Tensors.Scalars.Of(1e-3)).DetachFromDisposeScope();
        }
        const double lr = 1e-5;
        using var ours = new AdamW([new AdamWGroup(parameters, lr, WeightDecay: 0.0)]);
        // the stock optimizer, only as the baseline (it hands temporary Scalars to native code and keeps its
        // temporaries until the whole step ends: what Core/Optim replaces). The one place the ban is lifted: the
        // benchmark runs no torture thread, and this baseline is what the figures are measured against.
#pragma warning disable RS0030
        using var stock = optim.AdamW(parameters.Select(p => p.Parameter), lr);
        var plain = parameters.Select(p => p.Parameter).ToList();

        var runs = new (string Name, Action Step)[]
        {
            ($"{method} AdamW stock", () => stock.step()),
#pragma warning restore RS0030
            ($"{method} AdamW ours", () => ours.Step([lr])),
            ($"{method} clip stock", () => nn.utils.clip_grad_norm_(plain, 1e9)),
            ($"{method} clip ours", () => Gradients.ClipGradNorm(plain, 1e9)),
        };
        var samples = runs.SelectMany(r => new[] { (r.Name + ", warm heap", false), (r.Name + ", after release", true) })
            .ToDictionary(x => x.Item1, _ => new List<Sample>());
        // round 0 warms both up (their moments are allocated at their first step) and is not counted
        for (int round = 0; round <= rounds; round++)
        {
            for (int pair = 0; pair < runs.Length; pair += 2)
            {
                var order = round % 2 == 0 ? new[] { runs[pair], runs[pair + 1] } : new[] { runs[pair + 1], runs[pair] };
                foreach (var (name, step) in order)
                    foreach (bool release in new[] { false, true })
                    {
                        var sample = Once(step, release);
                        if (round > 0) samples[name + (release ? ", after release" : ", warm heap")].Add(sample);
                    }
            }
        }
        foreach (var (_, p) in parameters) p.grad = null;
        return samples.Select(kv => (kv.Key, kv.Value)).ToList();
    }

    static Sample Once(Action step, bool releaseFirst)
    {
        if (releaseFirst) NativeHeap.Release();
        MemoryProbe.StartWindow();
        long start = MemoryProbe.ResidentBytes();
        long faults = MinorFaults();
        var cpu = CpuTime();
        var clock = Stopwatch.StartNew();
        step();
        clock.Stop();
        long after = MinorFaults();
        return new Sample(clock.Elapsed.TotalMilliseconds, (CpuTime() - cpu).TotalMilliseconds, after - faults, (MemoryProbe.WindowPeakBytes() - start) / 1048576.0);
    }

    /// <summary>CPU time of the whole process (all threads): less sensitive than wall time to other processes on the cores.</summary>
    static TimeSpan CpuTime()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>The process's minor page faults so far (field 10 of /proc/self/stat, counted after the command name).</summary>
    static long MinorFaults()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], CultureInfo.InvariantCulture);
    }

    static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
