using System.Globalization;
using MultiLora.Data.Synthetic;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Generation;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks;

/// <summary>
/// Host-side work per training step and per decoded token, counted (not timed) on the training thread: native
/// allocations, item reads (device -> host synchronisations on a GPU), host arrays made tensors (host -> device
/// copies on a GPU), nonzero calls and TorchSharp tensor handles. Runs the real Trainer (LoRA, QLoRA,
/// QLoRA + gradient checkpointing) on a small built-in LLaVA over synthetic data, then batch-1 greedy decoding.
/// Usage: host-work [steps=30] [--methods lora,qlora,qlora+gc] [--tokens 24] [--read-every 1,10]; run under LD_PRELOAD of
/// benchmarks/native/opcount.c for the native counts (see <see cref="OpCounter.Hint"/>).
/// </summary>
static class HostWorkBenchmark
{
    const int WarmupSteps = 2;

    public static int Run(string[] args)
    {
        string Option(string name, string fallback) { int at = Array.IndexOf(args, name); return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback; }
        int steps = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? int.Parse(args[0], CultureInfo.InvariantCulture) : 30;
        var methods = Option("--methods", "lora,qlora,qlora+gc").Split(',', StringSplitOptions.RemoveEmptyEntries);
        int tokens = int.Parse(Option("--tokens", "24"), CultureInfo.InvariantCulture);
        // the trainer's read_every: each value runs every method (1 reads each step's loss and norm, as before issue 16)
        var readEvery = Option("--read-every", "1,10").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToList();
        var counter = new OpCounter();
        counter.WatchThisThread();
        if (!counter.Available) Console.WriteLine(OpCounter.Hint);

        var root = Directory.CreateTempSubdirectory("multilora-host-work-").FullName;
        try
        {
            string data = Path.Combine(root, "data");
            SyntheticDatasetGenerator.Generate(data, new SynthOptions { Resolution = 32, Train = 200, Eval = 10 });
            var preset = new TinyLlavaPreset(TextHidden: 256, TextLayers: 4, TextHeads: 4, TextKvHeads: 2, TextIntermediate: 688);
            string model = BuiltInModel.Write(Path.Combine(root, "base"), preset, seed: 0);
            Console.WriteLine($"per training step (between the first read point after step {WarmupSteps} and the last one that is a multiple of read_every, training thread), built-in LLaVA {preset.TextLayers} x {preset.TextHidden}, batch 4:");
            Console.WriteLine("run                allocations  MiB allocated  item reads  host arrays->tensors  nonzero  tensor handles");
            foreach (int every in readEvery)
            foreach (var name in methods)
            {
                var recorder = new Recorder(counter);
                Trainer.Run(new TrainRecipe
                {
                    Model = new ModelSection { Path = model },
                    Data = new DataSection { Mixture = Path.Combine(data, SynthOutput.Stage2Spec), MaxLength = 512, Aspect = "crop", GroupByModalityLength = false },
                    Method = name.Replace("+gc", "", StringComparison.Ordinal), Template = "llava_hf", Lora = new LoraSection { Rank = 16 }, BatchSize = 4,
                    MaxSteps = steps, LogEvery = 0, ReadEvery = every, OutputDir = Path.Combine(root, $"run-{name}-{every}"), GradientCheckpointing = name.EndsWith("+gc", StringComparison.Ordinal),
                }, recorder);
                // the observer hears of a step only when it is read: count between two read points, which hold every step's work between them
                int from = (WarmupSteps + every - 1) / every * every, to = steps / every * every;
                if (to <= from) throw new ArgumentException($"steps {steps} leave no read points after the warm-up for read_every {every}");
                Print($"{name} read/{every}", [recorder.At[to] - recorder.At[from]], to - from);
            }

            Console.WriteLine($"per decoded token (batch 1, greedy; tokens 9..{8 + tokens} minus tokens 1..8, prefill excluded):");
            using var llava = LlavaLoader.Load(model, new LoadOptions());
            var prompt = Enumerable.Range(0, 48).Select(i => 3 + i % 300).ToArray();
            OpCounts Decode(int n)
            {
                var before = counter.Read();
                LlavaGenerator.Generate(llava, [prompt], null, new GenerationOptions(MaxNewTokens: n));
                return counter.Read() - before;
            }
            Decode(8);
            var shortRun = Decode(8);
            var longRun = Decode(8 + tokens);
            Print("decode", [longRun - shortRun], tokens);
            return 0;
        }
        finally { Directory.Delete(root, true); }
    }

    static void Print(string name, List<OpCounts> counts, int per)
    {
        double Mean(Func<OpCounts, long> f) => counts.Average(c => (double)f(c)) / per;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-17} {Mean(c => c.Allocations),12:0.0} {Mean(c => c.AllocatedBytes) / 1048576,14:0.00} {Mean(c => c.ItemReads),11:0.0} {Mean(c => c.HostArrayTensors),21:0.0} {Mean(c => c.Nonzero),8:0.0} {Mean(c => c.TensorHandles),15:0.0}"));
    }

    /// <summary>The counters when each step was reported (steps read together are reported together, after their read).</summary>
    sealed class Recorder(OpCounter counter) : ITrainingObserver
    {
        public Dictionary<int, OpCounts> At { get; } = [];
        public void Started(string description, int totalSteps, long trainableParameters) { }
        public void Step(StepMetrics metrics) => At[metrics.Step] = counter.Read();
        public void Message(string text) { }
    }
}
