using System.Globalization;
using MultiLora.Core.Diagnostics;
using MultiLora.Data.Synthetic;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;

namespace MultiLora.Benchmarks;

/// <summary>
/// Train-step throughput and memory of full fine-tuning, LoRA and QLoRA on one model, in one process (full is
/// the baseline the others are divided by). Default model: the built-in LLaVA shape with a 1024-wide, 9-layer
/// decoder (about 105M parameters) on the synthetic stage-2 data at 32 px.
/// Usage: train [steps=20] [layers=9] [hidden=1024] [batch=4] [--methods full,lora,qlora,qlora+gc] [--dtypes float32,bfloat16]
/// [--release-memory auto,step,never] [--repeat N] (every method under every dtype and release setting, the whole set N
/// times in turn, with each setting's run-to-run spread printed at the end; bfloat16 is mixed precision
/// for lora/qlora: float32 trained parameters over a bf16 base; a release setting is the recipe's release_memory,
/// default auto). Memory is read twice per step: resident at the step's end, after any release, and the peak
/// within the step, which includes what the heap kept (VmHWM, restarted here at each step's end, so the process
/// peak that /usr/bin/time reports is not valid for a benchmark run).
/// </summary>
static class TrainBenchmark
{
    public static int Run(string[] args)
    {
        string[] Option(string name, string fallback)
        {
            int at = Array.IndexOf(args, name);
            return (at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        var methods = Option("--methods", "full,lora,qlora,qlora+gc");
        var dtypes = Option("--dtypes", "float32");
        var releases = Option("--release-memory", "auto");
        int repeat = int.Parse(Option("--repeat", "1")[0], CultureInfo.InvariantCulture);
        var positional = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
        int Arg(int i, int fallback) => positional.Length > i ? int.Parse(positional[i], CultureInfo.InvariantCulture) : fallback;
        int steps = Arg(0, 20), layers = Arg(1, 9), hidden = Arg(2, 1024), batch = Arg(3, 4);
        var root = Directory.CreateTempSubdirectory("multilora-train-bench-").FullName;
        try
        {
            var (data, model, preset) = SyntheticWorkspace.Write(root, hidden, layers, trainRecords: 500);
            Console.WriteLine($"model: {layers} decoder layers x {hidden} (intermediate {preset.TextIntermediate}), batch {batch}, {steps} steps per method");

            var rows = new List<(string Method, double Samples, double Tokens, long Peak, long RssEarly, long RssLast, long Trainable)>();
            var cpuRows = new List<(string Run, double SamplesPerCpuSecond, double FaultsPerStep)>();
            var flat = new List<(string Run, string Reading, List<long> Bytes)>();
            for (int round = 1; round <= repeat; round++)
            foreach (var release in releases)
            foreach (var dtype in dtypes)
            foreach (var name in methods)
            {
                string label = (releases.Length > 1 ? $"{name} {dtype} {release}" : $"{name} {dtype}") + (repeat > 1 ? $" #{round}" : "");
                string method = name.Replace("+gc", "", StringComparison.Ordinal);
                bool checkpointing = name.EndsWith("+gc", StringComparison.Ordinal);
                var observer = new Recorder();
                Trainer.Run(new TrainRecipe
                {
                    Model = new ModelSection { Path = model },
                    Data = new DataSection { Mixture = Path.Combine(data, SynthOutput.Stage2Spec), MaxLength = 512, Aspect = "crop" },
                    Method = method, Template = "llava_hf", Lora = new LoraSection { Rank = 64 }, BatchSize = batch, MaxSteps = steps,
                    LogEvery = 0, ReleaseMemory = release, OutputDir = Path.Combine(root, $"{dtype}-{name}-{release}"), GradientCheckpointing = checkpointing, Dtype = dtype,
                }, observer);
                var timed = observer.Steps.Skip(Math.Min(3, observer.Steps.Count - 1)).ToList();   // first steps warm up allocators
                rows.Add((label, timed.Average(s => s.SamplesPerSecond), timed.Average(s => s.TokensPerSecond), observer.StepPeaks.Max(),
                    observer.Steps[Math.Min(9, observer.Steps.Count - 1)].ResidentBytes, observer.Steps[^1].ResidentBytes, observer.Trainable));
                int from = Math.Min(9, observer.Steps.Count - 1);
                flat.Add((label, "at step end", observer.Steps.Skip(from).Select(m => m.ResidentBytes).ToList()));
                flat.Add((label, "peak in step", observer.StepPeaks.Skip(from).ToList()));
                // the same timed steps by CPU time: samples per CPU-second, and minor faults per step
                int first = Math.Min(3, observer.Steps.Count - 1), before = Math.Max(0, first - 1);
                double cpuSeconds = (observer.Counters[^1].Cpu - observer.Counters[before].Cpu).TotalSeconds;
                int timedSteps = observer.Steps.Count - 1 - before;
                long faults = observer.Counters[^1].Faults - observer.Counters[before].Faults;
                cpuRows.Add((label, timedSteps * (double)batch / Math.Max(1e-9, cpuSeconds), faults / (double)Math.Max(1, timedSteps)));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{label}: {rows[^1].Samples:0.00} samples/s, {cpuRows[^1].SamplesPerCpuSecond:0.00} samples per CPU-s, {cpuRows[^1].FaultsPerStep:0} minor faults/step; load average {LoadAverage()}"));
            }
            var baseline = rows[0];
            // "peak RSS" is the largest peak within one step of that run (the process peak mixes runs); RSS@ are read at step ends
            Console.WriteLine($"run                 trainable    samples/s  tokens/s  vs {baseline.Method,-16} peak RSS  RSS@10   RSS@last");
            foreach (var r in rows)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Method,-18} {r.Trainable,11:N0}  {r.Samples,9:0.00}  {r.Tokens,8:0}  {r.Samples / baseline.Samples,6:0.00}x{"",13} {r.Peak / 1048576,5} MiB {r.RssEarly / 1048576,5} MiB {r.RssLast / 1048576,5} MiB"));
            Console.WriteLine($"process peak RSS {MemoryProbe.PeakResidentBytes() / 1048576} MiB");
            if (repeat > 1)
            {
                // run-to-run spread of each setting over the repeats
                Console.WriteLine("setting              runs  samples/s mean (min-max) spread   samples/CPU-s mean (min-max) spread   minor faults/step");
                static string Spread(IEnumerable<double> values)
                {
                    var v = values.ToList();
                    double mean = v.Average(), min = v.Min(), max = v.Max();
                    return string.Create(CultureInfo.InvariantCulture, $"{mean,6:0.00} ({min:0.00}-{max:0.00}) {(max - min) / mean,4:P0}");
                }
                string Setting(string run) => run[..run.LastIndexOf(" #", StringComparison.Ordinal)];
                foreach (var g in rows.Zip(cpuRows).GroupBy(r => Setting(r.First.Method)))
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{g.Key,-20} {g.Count(),4}  {Spread(g.Select(r => r.First.Samples)),-30} {Spread(g.Select(r => r.Second.SamplesPerCpuSecond)),-34} {g.Average(r => r.Second.FaultsPerStep),8:0}"));
            }
            // flatness from step 10 on: range of resident memory and its least-squares trend
            Console.WriteLine("run                RSS steps 10..last   min    max    trend (MiB per 100 steps)");
            foreach (var (run, reading, rss) in flat)
            {
                var xs = Enumerable.Range(10, rss.Count).Select(i => (double)i).ToArray();
                var ys = rss.Select(b => b / 1048576.0).ToArray();
                double mx = xs.Average(), my = ys.Average();
                double slope = xs.Length < 2 ? 0 : xs.Zip(ys).Sum(p => (p.First - mx) * (p.Second - my)) / xs.Sum(x => (x - mx) * (x - mx));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{run,-18} {reading,-17} {ys.Min(),6:0} {ys.Max(),6:0}  {slope * 100,8:0.0}"));
            }
            return 0;
        }
        finally { Directory.Delete(root, true); }
    }

    /// <summary>The process's minor page faults so far (field 10 of /proc/self/stat, counted after the command name).</summary>
    static long MinorFaults()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[7], CultureInfo.InvariantCulture);
    }

    static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    sealed class Recorder : ITrainingObserver
    {
        public List<StepMetrics> Steps { get; } = [];
        /// <summary>Each step's peak resident size (the first one's includes setup).</summary>
        public List<long> StepPeaks { get; } = [];
        public long Trainable { get; private set; }
        public void Started(string description, int totalSteps, long trainableParameters)
        {
            Trainable = trainableParameters;
            MemoryProbe.StartWindow();
        }
        /// <summary>Process CPU time and minor page faults at each step's end (CPU time counts all threads and is
        /// less sensitive than wall time to other processes sharing the cores).</summary>
        public List<(TimeSpan Cpu, long Faults)> Counters { get; } = [];
        public void Step(StepMetrics metrics)
        {
            using (var self = System.Diagnostics.Process.GetCurrentProcess()) Counters.Add((self.TotalProcessorTime, MinorFaults()));
            Steps.Add(metrics);
            StepPeaks.Add(MemoryProbe.WindowPeakBytes());
            MemoryProbe.StartWindow();
        }
        public void Message(string text) { }
    }
}
