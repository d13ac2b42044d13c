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
    readonly TinyTrainingWorkspace _work = new();

    public void Dispose() => _work.Dispose();

    [Theory]
    [InlineData("full")]
    [InlineData("lora")]
    [InlineData("qlora")]
    public void EachMethod_LowersTheLossOnRepeatedData(string method)
    {
        var recorder = new StepRecorder();
        var result = Trainer.Run(_work.Recipe(method, 24, method), recorder);
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
        var recipe = _work.Recipe("full", 12, "held-out");
        recipe.EvalEvery = 6;
        recipe.Data.Eval = Path.Combine(_work.Data, SynthOutput.Stage1Spec);
        var recorder = new StepRecorder();
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
        var straightSteps = new StepRecorder();
        var straightRecipe = _work.Recipe("lora", 8, "straight-" + dtype, saveEvery: 4);
        straightRecipe.Dtype = dtype;
        var straight = Trainer.Run(straightRecipe, straightSteps);

        var resumedRecipe = _work.Recipe("lora", 8, "resumed-" + dtype, saveEvery: 4);
        resumedRecipe.Dtype = dtype;
        Trainer.Run(resumedRecipe, new StepRecorder());
        // simulate a kill after step 4: only the step-4 checkpoint survives
        Directory.Delete(Path.Combine(resumedRecipe.OutputDir, "checkpoint-8"), true);
        Directory.Delete(Path.Combine(resumedRecipe.OutputDir, "final"), true);
        var recorder = new StepRecorder();
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
        var frozen = Trainer.Run(_work.Recipe("lora", 3, "tower-frozen"), new StepRecorder());
        var recipe = _work.Recipe("lora", 3, "tower-trained");
        recipe.UnfreezeVisionTower = true;
        recipe.Optim.VisionLr = 1e-3;
        var trained = Trainer.Run(recipe, new StepRecorder());

        using var frozenAdapter = MultiLora.Core.Safetensors.SafetensorsFile.Open(Path.Combine(frozen.FinalDir, "adapter_model.safetensors"));
        Assert.DoesNotContain(frozenAdapter.Tensors.Keys, k => k.Contains(".vision_tower.", StringComparison.Ordinal));
        using var adapter = MultiLora.Core.Safetensors.SafetensorsFile.Open(Path.Combine(trained.FinalDir, "adapter_model.safetensors"));
        using var baseWeights = MultiLora.Core.Safetensors.SafetensorsCheckpoint.Open(_work.Base);
        var towerKeys = adapter.Tensors.Keys.Where(k => k.Contains(".vision_tower.", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(towerKeys);
        // the first encoder layer's query weight moved away from the base's
        string q = towerKeys.Single(k => k.EndsWith("encoder.layers.0.self_attn.q_proj.weight", StringComparison.Ordinal));
        string baseKey = baseWeights.Names.Single(k => k.EndsWith("encoder.layers.0.self_attn.q_proj.weight", StringComparison.Ordinal) && k.Contains("vision", StringComparison.Ordinal));
        double moved = (adapter.Load(q) - baseWeights.Load(baseKey)).abs().max().item<float>();
        Assert.True(moved > 1e-5, $"vision q_proj moved by {moved}");
        Assert.Contains("vision_tower", File.ReadAllText(Path.Combine(trained.FinalDir, "adapter_config.json")));

        // the tower follows its own learning rate, not optim.lr
        var slowRecipe = _work.Recipe("lora", 3, "tower-slow");
        slowRecipe.UnfreezeVisionTower = true;
        slowRecipe.Optim.VisionLr = 1e-9;
        var slow = Trainer.Run(slowRecipe, new StepRecorder());
        using var slowAdapter = MultiLora.Core.Safetensors.SafetensorsFile.Open(Path.Combine(slow.FinalDir, "adapter_model.safetensors"));
        double crept = (slowAdapter.Load(q) - baseWeights.Load(baseKey)).abs().max().item<float>();
        Assert.True(crept < 1e-7, $"at vision_lr 1e-9 the tower moved by {crept}");
    }
}
