using MultiLora.Data.Synthetic;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Tests.Training;

using Xunit.Abstractions;

namespace MultiLora.Tests.Torture;

/// <summary>
/// A few training steps of every method under GC torture give bit-identical losses, gradient norms and trained
/// weights to the same run without it, and leave no TorchSharp Scalar to the finalizer (issue 17).
/// </summary>
[Collection(TortureCollection.Name)]
public sealed class TrainingTortureTests(TinyTrainingWorkspace work, ITestOutputHelper log) : IClassFixture<TinyTrainingWorkspace>
{
    const int Steps = 2;
    readonly TinyTrainingWorkspace _work = work;

    /// <summary>What a run leaves that must not depend on the torture: per-step loss and gradient norm, and the trained weights' bytes.</summary>
    sealed record Outcome(List<double> Losses, List<double> GradNorms, byte[] TrainedWeights);

    static Outcome Train(TrainRecipe recipe, bool resumeAfterKill = false)
    {
        var recorder = new StepRecorder();
        var result = Trainer.Run(recipe, recorder);
        if (resumeAfterKill)
        {
            // a kill after the first checkpoint: only it survives, and the run resumes from it
            var last = Path.Combine(recipe.OutputDir, $"{CheckpointStore.Prefix}{result.Steps}");
            Directory.Delete(last, true);
            Directory.Delete(result.FinalDir, true);
            recorder = new StepRecorder();
            result = Trainer.Run(recipe, recorder, resume: true);
        }
        var weights = Path.Combine(recipe.OutputDir, $"{CheckpointStore.Prefix}{result.Steps}", "trainable.safetensors");
        return new Outcome(recorder.Steps.Select(s => s.Loss).ToList(), recorder.Steps.Select(s => s.GradNorm).ToList(), File.ReadAllBytes(weights));
    }

    TrainRecipe Recipe(string variant, string output, int steps = Steps)
    {
        string method = variant switch { "checkpointing" or "bf16-mixed" => "lora", "stage1" => "lora", var m => m };
        var r = _work.Recipe(method, steps, output, dtype: variant == "bf16-mixed" ? "bfloat16" : "float32");
        r.Data.Workers = 2;   // worker threads allocate while the step runs, as in real runs
        r.GradientCheckpointing = variant == "checkpointing";
        if (variant == "stage1")
        {
            r.Stage = 1;
            r.Template = "plain";
            r.Data.Mixture = Path.Combine(_work.Data, SynthOutput.Stage1Spec);
        }
        return r;
    }

    static void AssertSame(Outcome expected, Outcome actual, string what)
    {
        Assert.Equal(expected.Losses, actual.Losses);
        Assert.Equal(expected.GradNorms, actual.GradNorms);
        Assert.True(expected.TrainedWeights.AsSpan().SequenceEqual(actual.TrainedWeights), $"{what}: trained weights differ from the run without torture");
    }

    [Theory]
    [InlineData("full")]
    [InlineData("lora")]
    [InlineData("qlora")]
    [InlineData("stage1")]
    [InlineData("checkpointing")]
    [InlineData("bf16-mixed")]
    public void TrainingSteps_UnderGcTorture_EqualTheUntorturedRunAndFinaliseNoScalar(string variant)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var plain = Train(Recipe(variant, variant + "-plain"));
        log.WriteLine($"without torture {clock.Elapsed.TotalSeconds:0.0} s");
        var (tortured, report) = GcTorture.Run(() => Train(Recipe(variant, variant + "-tortured")));
        log.WriteLine(report.ToString());
        AssertSame(plain, tortured, variant);
        report.AssertClean(variant);
    }

    [Fact]
    public void CheckpointSaveAndResume_UnderGcTorture_EqualTheUntorturedStraightRun()
    {
        var straight = Recipe("lora", "straight", steps: 2);
        straight.SaveEvery = 1;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var plain = Train(straight);
        log.WriteLine($"without torture {clock.Elapsed.TotalSeconds:0.0} s");
        var resumed = Recipe("lora", "resumed", steps: 2);
        resumed.SaveEvery = 1;
        var (tortured, report) = GcTorture.Run(() => Train(resumed, resumeAfterKill: true));
        log.WriteLine(report.ToString());
        Assert.Equal(plain.Losses.Skip(1), tortured.Losses);   // the resumed run logs step 2 only
        Assert.Equal(plain.GradNorms.Skip(1), tortured.GradNorms);
        Assert.True(plain.TrainedWeights.AsSpan().SequenceEqual(tortured.TrainedWeights), "resumed weights differ from the straight run's");
        report.AssertClean("checkpoint save/resume");
    }
}
