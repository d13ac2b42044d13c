using MultiLora.Data.Synthetic;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Training;

/// <summary>A tiny built-in model on a few synthetic samples: short runs of every method, checkpoints and resume.</summary>
[Collection(Cli.CliCollection.Name)]
public sealed class TrainerTests : IDisposable
{
    readonly Fixture.TempDir _tmp = Fixture.Temp();
    readonly string _data;
    readonly string _base;

    public TrainerTests()
    {
        _data = Path.Combine(_tmp.Path, "data");
        SyntheticDatasetGenerator.Generate(_data, new SynthOptions { Resolution = 16, Train = 48, Eval = 8, Seed = 1 });
        _base = BuiltInModel.Write(Path.Combine(_tmp.Path, "base"),
            new TinyLlavaPreset(ImageSize: 16, VisionHidden: 32, VisionLayers: 2, TextHidden: 64, TextLayers: 2, TextIntermediate: 128), seed: 1);
    }

    public void Dispose() => _tmp.Dispose();

    TrainRecipe Recipe(string method, int steps, string output, int saveEvery = 0) => new()
    {
        Model = new ModelSection { Path = _base },
        Data = new DataSection { Mixture = Path.Combine(_data, SynthOutput.Stage2Spec), MaxLength = 256, Aspect = "crop" },
        Method = method,
        Template = "llava_hf",
        Lora = new LoraSection { Rank = 8 },
        Optim = new OptimSection { Lr = 3e-3 },
        BatchSize = 4,
        MaxSteps = steps,
        SaveEvery = saveEvery,
        Seed = 3,
        OutputDir = Path.Combine(_tmp.Path, output),
    };

    sealed class Recorder : ITrainingObserver
    {
        public List<StepMetrics> Steps { get; } = [];
        public void Started(string description, int totalSteps, long trainableParameters) { }
        public void Step(StepMetrics metrics) => Steps.Add(metrics);
        public void Message(string text) { }
    }

    [Theory]
    [InlineData("full")]
    [InlineData("lora")]
    [InlineData("qlora")]
    public void EachMethod_LowersTheLossOnRepeatedData(string method)
    {
        var recorder = new Recorder();
        var result = Trainer.Run(Recipe(method, 24, method), recorder);
        Assert.Equal(24, result.Steps);
        double first = recorder.Steps.Take(4).Average(s => s.Loss), last = recorder.Steps.TakeLast(4).Average(s => s.Loss);
        // 24 steps on a fresh (random) base: every method must move the loss down clearly (measured drops: full > 1, lora/qlora ~0.45)
        Assert.True(last < first - 0.25, $"{method}: loss {first:0.000} -> {last:0.000}");
        Assert.True(File.Exists(Path.Combine(result.OutputDir, "metrics.jsonl")));
        Assert.True(Directory.Exists(Path.Combine(result.OutputDir, "tensorboard")));
        bool adapter = method != "full";
        Assert.True(File.Exists(Path.Combine(result.FinalDir, adapter ? "adapter_model.safetensors" : "model.safetensors")));
    }

    [Fact]
    public void EvalEvery_LogsAHeldOutLossThatFalls()
    {
        var recipe = Recipe("full", 12, "held-out");
        recipe.EvalEvery = 6;
        recipe.Data.Eval = Path.Combine(_data, SynthOutput.Stage1Spec);
        var recorder = new Recorder();
        Trainer.Run(recipe, recorder);
        var evals = recorder.Steps.Where(s => s.EvalLoss is not null).Select(s => (s.Step, Loss: s.EvalLoss!.Value)).ToList();
        Assert.Equal([6, 12], evals.Select(e => e.Step));
        Assert.True(evals[1].Loss < evals[0].Loss, $"held-out loss {evals[0].Loss:0.000} -> {evals[1].Loss:0.000}");
        Assert.Contains("eval_loss", File.ReadAllText(Path.Combine(recipe.OutputDir, "metrics.jsonl")));
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("bfloat16")]   // float32 LoRA/projector master weights over a bf16 base
    public void KilledAndResumedRun_EndsWithTheSameLossAsAnUninterruptedOne(string dtype)
    {
        var straightSteps = new Recorder();
        var straightRecipe = Recipe("lora", 8, "straight-" + dtype, saveEvery: 4);
        straightRecipe.Dtype = dtype;
        var straight = Trainer.Run(straightRecipe, straightSteps);

        var resumedRecipe = Recipe("lora", 8, "resumed-" + dtype, saveEvery: 4);
        resumedRecipe.Dtype = dtype;
        Trainer.Run(resumedRecipe, new Recorder());
        // simulate a kill after step 4: only the step-4 checkpoint survives
        Directory.Delete(Path.Combine(resumedRecipe.OutputDir, "checkpoint-8"), true);
        Directory.Delete(Path.Combine(resumedRecipe.OutputDir, "final"), true);
        var recorder = new Recorder();
        var resumed = Trainer.Run(resumedRecipe, recorder, resume: true);

        Assert.Equal(5, recorder.Steps[0].Step);
        Assert.Equal(straightSteps.Steps.Skip(4).Select(s => s.Loss), recorder.Steps.Select(s => s.Loss));   // steps 5..8, to the last bit
        using var a = MultiLora.Core.Safetensors.SafetensorsFile.Open(Path.Combine(straight.FinalDir, "adapter_model.safetensors"));
        using var b = MultiLora.Core.Safetensors.SafetensorsFile.Open(Path.Combine(resumed.FinalDir, "adapter_model.safetensors"));
        foreach (var key in a.Tensors.Keys)
            Assert.True(a.Load(key).eq(b.Load(key)).all().item<bool>(), key);
    }

    [Fact]
    public void UnfreezeVisionTower_TrainsTheTowerAndTheAdapterCarriesIt()
    {
        var frozen = Trainer.Run(Recipe("lora", 3, "tower-frozen"), new Recorder());
        var recipe = Recipe("lora", 3, "tower-trained");
        recipe.UnfreezeVisionTower = true;
        recipe.Optim.VisionLr = 1e-3;
        var trained = Trainer.Run(recipe, new Recorder());

        using var frozenAdapter = MultiLora.Core.Safetensors.SafetensorsFile.Open(Path.Combine(frozen.FinalDir, "adapter_model.safetensors"));
        Assert.DoesNotContain(frozenAdapter.Tensors.Keys, k => k.Contains(".vision_tower.", StringComparison.Ordinal));
        using var adapter = MultiLora.Core.Safetensors.SafetensorsFile.Open(Path.Combine(trained.FinalDir, "adapter_model.safetensors"));
        using var baseWeights = MultiLora.Core.Safetensors.SafetensorsCheckpoint.Open(_base);
        var towerKeys = adapter.Tensors.Keys.Where(k => k.Contains(".vision_tower.", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(towerKeys);
        // the first encoder layer's query weight moved away from the base's
        string q = towerKeys.Single(k => k.EndsWith("encoder.layers.0.self_attn.q_proj.weight", StringComparison.Ordinal));
        string baseKey = baseWeights.Names.Single(k => k.EndsWith("encoder.layers.0.self_attn.q_proj.weight", StringComparison.Ordinal) && k.Contains("vision", StringComparison.Ordinal));
        double moved = (adapter.Load(q) - baseWeights.Load(baseKey)).abs().max().item<float>();
        Assert.True(moved > 1e-5, $"vision q_proj moved by {moved}");
        Assert.Contains("vision_tower", File.ReadAllText(Path.Combine(trained.FinalDir, "adapter_config.json")));

        // the tower follows its own learning rate, not optim.lr
        var slowRecipe = Recipe("lora", 3, "tower-slow");
        slowRecipe.UnfreezeVisionTower = true;
        slowRecipe.Optim.VisionLr = 1e-9;
        var slow = Trainer.Run(slowRecipe, new Recorder());
        using var slowAdapter = MultiLora.Core.Safetensors.SafetensorsFile.Open(Path.Combine(slow.FinalDir, "adapter_model.safetensors"));
        double crept = (slowAdapter.Load(q) - baseWeights.Load(baseKey)).abs().max().item<float>();
        Assert.True(crept < 1e-7, $"at vision_lr 1e-9 the tower moved by {crept}");
    }
}
