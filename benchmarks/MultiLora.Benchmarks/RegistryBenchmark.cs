using System.Diagnostics;
using System.Globalization;
using MultiLora.Data.Synthetic;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Sweeps.Grid;
using MultiLora.Sweeps.Planning;
using MultiLora.Sweeps.Registry;

namespace MultiLora.Benchmarks;

/// <summary>
/// What recording a run in the sweep registry costs a cell's training: the same training run (the built-in tiny
/// LLaVA, LoRA, the synthetic stage-2 data) with a plain observer and with the registry's observer (one SQLite
/// transaction per step), alternating, in one process. Reports each run's training seconds, the ratio, and the
/// time spent inside the registry writes themselves (the overhead without the run-to-run noise of a shared machine).
/// Usage: registry [steps=40] [pairs=3] [batch=8]
/// </summary>
static class RegistryBenchmark
{
    public static int Run(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        int steps = Arg(0, 40), pairs = Arg(1, 3), batch = Arg(2, 8);
        var root = Directory.CreateTempSubdirectory("multilora-registry-bench-").FullName;
        try
        {
            string data = Path.Combine(root, "data");
            SyntheticDatasetGenerator.Generate(data, new SynthOptions { Resolution = 32, Train = 300, Eval = 4 });
            string model = BuiltInModel.Write(Path.Combine(root, "base"), BuiltInSizes.Get("tiny"), seed: 0);
            TrainRecipe Recipe(string name) => new()
            {
                Model = new ModelSection { Path = model },
                Data = new DataSection { Mixture = Path.Combine(data, SynthOutput.Stage2Spec), MaxLength = 256, Aspect = "crop" },
                Method = "lora", Template = "llava_hf", Lora = new LoraSection { Rank = 16 }, BatchSize = batch, MaxSteps = steps, LogEvery = 0,
                OutputDir = Path.Combine(root, name),
            };
            using var registry = RunRegistry.Open(Path.Combine(root, "ws", "runs.db"));
            var without = new List<double>();
            var with = new List<double>();
            double writeSeconds = 0;
            int writes = 0;
            Trainer.Run(Recipe("warmup"), new Null());   // first-run costs (native library, caches) out of the comparison
            for (int i = 0; i < pairs; i++)
            {
                // alternate the order so a machine that slows down over time does not favour one side
                foreach (bool recorded in i % 2 == 0 ? new[] { false, true } : [true, false])
                {
                    string name = $"{(recorded ? "with" : "without")}-{i}";
                    if (!recorded)
                    {
                        without.Add(Trainer.Run(Recipe(name), new Null()).Seconds);
                        continue;
                    }
                    var run = new PlannedRun(name, RunKind.Cell, new CellAxes([new("pair", i.ToString(CultureInfo.InvariantCulture))]), Recipe(name), "recipe", name, null);
                    registry.Sync("bench", [run], 1);
                    long id = registry.Run("bench", name)!.Id;
                    var timed = new TimedObserver(new RegistryObserver(registry, id, new Null()));
                    with.Add(Trainer.Run(run.Recipe, timed).Seconds);
                    writeSeconds += timed.Seconds;
                    writes += timed.Steps;
                }
            }
            double a = without.Average(), b = with.Average();
            Console.WriteLine($"tiny LLaVA, LoRA r16, batch {batch}, {steps} steps per run, {pairs} pairs (alternating order)");
            Console.WriteLine($"training seconds without registry: {string.Join(", ", without.Select(s => s.ToString("0.00", CultureInfo.InvariantCulture)))} (mean {a:0.00})");
            Console.WriteLine($"training seconds with registry:    {string.Join(", ", with.Select(s => s.ToString("0.00", CultureInfo.InvariantCulture)))} (mean {b:0.00})");
            Console.WriteLine($"ratio with/without: {b / a:0.0000} ({(b / a - 1) * 100:+0.00;-0.00}%)");
            Console.WriteLine($"inside registry writes: {writeSeconds * 1000 / Math.Max(1, writes):0.000} ms per step over {writes} steps = {writeSeconds / with.Sum() * 100:0.000}% of the recorded runs' training time");
            return 0;
        }
        finally { Directory.Delete(root, true); }
    }

    sealed class Null : ITrainingObserver
    {
        public void Started(string description, int totalSteps, long trainableParameters) { }
        public void Step(StepMetrics metrics) { }
        public void Message(string text) { }
    }

    /// <summary>Times the step callback (the registry write) of the observer it wraps.</summary>
    sealed class TimedObserver(ITrainingObserver inner) : ITrainingObserver
    {
        public double Seconds { get; private set; }
        public int Steps { get; private set; }
        public void Started(string description, int totalSteps, long trainableParameters) => inner.Started(description, totalSteps, trainableParameters);
        public void Step(StepMetrics metrics)
        {
            var clock = Stopwatch.StartNew();
            inner.Step(metrics);
            Seconds += clock.Elapsed.TotalSeconds;
            Steps++;
        }
        public void Message(string text) => inner.Message(text);
    }
}
