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
/// Usage: host-work [steps=12] [--methods lora,qlora,qlora+gc] [--tokens 24]; run under LD_PRELOAD of
/// benchmarks/native/opcount.c for the native counts (see <see cref="OpCounter.Hint"/>).
/// </summary>
static class HostWorkBenchmark
{
    const int WarmupSteps = 2;

    public static int Run(string[] args)
    {
        string Option(string name, string fallback) { int at = Array.IndexOf(args, name); return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback; }
        int steps = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? int.Parse(args[0], CultureInfo.InvariantCulture) : 12;
        var methods = Option("--methods", "lora,qlora,qlora+gc").Split(',', StringSplitOptions.RemoveEmptyEntries);
        int tokens = int.Parse(Option("--tokens", "24"), CultureInfo.InvariantCulture);
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
            Console.WriteLine($"per training step (mean over steps {WarmupSteps + 1}..{steps}, training thread), built-in LLaVA {preset.TextLayers} x {preset.TextHidden}, batch 4:");
            Console.WriteLine("run         allocations  MiB allocated  item reads  host arrays->tensors  nonzero  tensor handles");
            foreach (var name in methods)
            {
                var recorder = new Recorder(counter);
                Trainer.Run(new TrainRecipe
                {
                    Model = new ModelSection { Path = model },
                    Data = new DataSection { Mixture = Path.Combine(data, SynthOutput.Stage2Spec), MaxLength = 512, Aspect = "crop", GroupByModalityLength = false },
                    Method = name.Replace("+gc", "", StringComparison.Ordinal), Template = "llava_hf", Lora = new LoraSection { Rank = 16 }, BatchSize = 4,
                    MaxSteps = steps, LogEvery = 0, OutputDir = Path.Combine(root, "run-" + name), GradientCheckpointing = name.EndsWith("+gc", StringComparison.Ordinal),
                }, recorder);
                Print(name, recorder.PerStep.Skip(WarmupSteps).ToList(), 1);
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
            $"{name,-10} {Mean(c => c.Allocations),12:0.0} {Mean(c => c.AllocatedBytes) / 1048576,14:0.00} {Mean(c => c.ItemReads),11:0.0} {Mean(c => c.HostArrayTensors),21:0.0} {Mean(c => c.Nonzero),8:0.0} {Mean(c => c.TensorHandles),15:0.0}"));
    }

    sealed class Recorder(OpCounter counter) : ITrainingObserver
    {
        OpCounts _last;
        public List<OpCounts> PerStep { get; } = [];
        public void Started(string description, int totalSteps, long trainableParameters) => _last = counter.Read();
        public void Step(StepMetrics metrics)
        {
            var now = counter.Read();
            PerStep.Add(now - _last);
            _last = now;
        }
        public void Message(string text) { }
    }
}
