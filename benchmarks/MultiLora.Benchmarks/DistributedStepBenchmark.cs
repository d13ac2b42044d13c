using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MultiLora.Data.Synthetic;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;

namespace MultiLora.Benchmarks;

/// <summary>
/// Step time of data-parallel training: 2 ranks x batch b (mpirun) against 1 process x batch 2b, same global batch, same
/// model and data (the built-in LLaVA shape, `hidden` wide, `layers` deep, synthetic stage-2 data at 32 px). The two runs
/// are separate launches of this program (`distributed-step-rank`); the table compares their mean step times after
/// 3 warm-up steps (median, robust to other load on a shared machine), and shows how much of a rank's step went to
/// collectives and how many bytes it all-reduced. Each rank gets cores / 2 intra-op threads, the single process all
/// cores: the same machine split two ways. On a 2-core machine expect no speedup: the point is the overhead
/// (collectives, MPI's busy-polling while a rank waits, per-step work every rank repeats, two processes' state).
/// `--single-threads N` gives the single process N threads instead: on a machine other jobs load, libtorch's OpenMP
/// threads spin-wait for each other when one is descheduled, which can slow a 2-thread process several-fold; with 1
/// thread the single process has the same per-thread conditions as each rank (and half the machine's share).
/// Usage: distributed-step [--batch 4] [--steps 20] [--hidden 256] [--layers 4] [--methods lora,full] [--single-threads N]
/// </summary>
public static class DistributedStepBenchmark
{
    public static int Run(string[] args)
    {
        int batch = Int(args, "--batch", 4), steps = Int(args, "--steps", 20), hidden = Int(args, "--hidden", 256), layers = Int(args, "--layers", 4);
        var methods = Arg(args, "--methods", "lora,full").Split(',');
        int singleThreads = Int(args, "--single-threads", Environment.ProcessorCount), rankThreads = Math.Max(1, Environment.ProcessorCount / 2);
        string root = Directory.CreateTempSubdirectory("multilora-dp-bench-").FullName;
        try
        {
            var (data, model, _) = SyntheticWorkspace.Write(root, hidden, layers, trainRecords: 400);
            string self = System.Reflection.Assembly.GetEntryAssembly()!.Location;
            var rows = new List<object>();
            Console.WriteLine($"model: built-in LLaVA, decoder {layers} x {hidden}; global batch {2 * batch}; {steps} steps, the first 3 not timed");
            Console.WriteLine($"intra-op threads: {singleThreads} in the single process, {rankThreads} per rank");
            Console.WriteLine("method  run              step s   samples/s  vs 1 process  collectives s/step  all-reduced/step");
            foreach (var method in methods)
            {
                Result Launch(string name, int ranks, int perRank)
                {
                    string output = Path.Combine(root, $"{method}-{name}");
                    var psi = ranks == 1 ? new ProcessStartInfo("dotnet") : new ProcessStartInfo("mpirun");
                    if (ranks > 1) foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", ranks.ToString(CultureInfo.InvariantCulture), "dotnet" }) psi.ArgumentList.Add(a);
                    int threads = ranks == 1 ? singleThreads : rankThreads;
                    foreach (var a in new[] { self, "distributed-step-rank", model, data, method, perRank.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture), output, threads.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
                    using var p = Process.Start(psi)!;
                    p.WaitForExit();
                    if (p.ExitCode != 0) throw new InvalidOperationException($"{method} {name} failed with exit code {p.ExitCode}");
                    return Read(output);
                }
                var one = Launch("1x" + 2 * batch, 1, 2 * batch);
                var two = Launch("2x" + batch, 2, batch);
                foreach (var (name, r) in new[] { ($"1 x batch {2 * batch}", one), ($"2 x batch {batch}", two) })
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{method,-7} {name,-15} {r.StepSeconds,7:0.000}  {r.SamplesPerSecond,9:0.00}  {one.StepSeconds / r.StepSeconds,11:0.00}x  {r.CollectiveSeconds,18:0.000}  {r.AllReducedBytes / 1048576.0,12:0.00} MiB"));
                    rows.Add(new { method, run = name, step_seconds = r.StepSeconds, samples_per_second = r.SamplesPerSecond, speedup = one.StepSeconds / r.StepSeconds,
                        collective_seconds = r.CollectiveSeconds, all_reduced_bytes = r.AllReducedBytes });
                }
            }
            Directory.CreateDirectory(Path.Combine("benchmarks", "results"));
            string file = Path.Combine("benchmarks", "results", "distributed-step.json");
            File.WriteAllText(file, JsonSerializer.Serialize(new { benchmark = "distributed-step", batch, steps, hidden, layers, single_threads = singleThreads, rank_threads = rankThreads, rows }, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"wrote {file}");
            return 0;
        }
        finally { Directory.Delete(root, true); }
    }

    /// <summary>One launched run (a rank of it, or the single process): trains and leaves metrics.jsonl in OUTPUT.</summary>
    public static int RunRank(string[] args)
    {
        if (args.Length < 7) throw new ArgumentException("usage: distributed-step-rank MODEL DATA METHOD BATCH STEPS OUTPUT THREADS");
        TorchSharp.torch.set_num_threads(int.Parse(args[6], CultureInfo.InvariantCulture));
        Trainer.Run(new TrainRecipe
        {
            Model = new ModelSection { Path = args[0] },
            Data = new DataSection { Mixture = Path.Combine(args[1], SynthOutput.Stage2Spec), MaxLength = 512, Aspect = "crop" },
            Method = args[2], Template = "llava_hf", Lora = new LoraSection { Rank = 64 },
            BatchSize = int.Parse(args[3], CultureInfo.InvariantCulture), MaxSteps = int.Parse(args[4], CultureInfo.InvariantCulture),
            OutputDir = args[5],
        }, SilentObserver.Instance);
        return 0;
    }

    sealed record Result(double StepSeconds, double SamplesPerSecond, double CollectiveSeconds, long AllReducedBytes);

    static Result Read(string output)
    {
        var steps = File.ReadLines(Path.Combine(output, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("step", out _)).ToList();
        var elapsed = steps.Select(e => e.GetProperty("elapsed_seconds").GetDouble()).ToList();
        var durations = Enumerable.Range(3, steps.Count - 3).Select(i => elapsed[i] - elapsed[i - 1]).Order().ToList();
        var timed = steps.Skip(3).ToList();
        double seconds = durations[durations.Count / 2];
        long samplesPerStep = timed[0].GetProperty("samples").GetInt64();
        return new Result(seconds, samplesPerStep / seconds,
            timed.Average(e => e.GetProperty("collective_seconds").GetDouble()), timed[^1].GetProperty("all_reduced_bytes").GetInt64());
    }

    static int Int(string[] args, string name, int fallback) => int.Parse(Arg(args, name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    static string Arg(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i < 0 ? fallback : i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{name}: expected a value");
    }
}
