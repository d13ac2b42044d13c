using MultiLora.Core.Tensors;
using MultiLora.Llava.Training;

namespace MultiLora.Tests.Training;

/// <summary>
/// read_every: the steps' losses and gradient norms stay on the device between read points and are read in one
/// transfer there, with the same values a read per step gives; divergence is still caught before a checkpoint.
/// </summary>
[Collection(Cli.CliCollection.Name)]
public sealed class ReadPointTests : IDisposable
{
    readonly TinyTrainingWorkspace _work = new();

    public void Dispose() => _work.Dispose();

    [Fact]
    public void ReadEveryThree_ReportsEveryStepWithTheSameLossesAndNorms_InATwoThirdsSmallerNumberOfReads()
    {
        (List<StepMetrics> Steps, long Reads) Train(int readEvery)
        {
            var recipe = _work.Recipe("lora", 6, $"read-{readEvery}");
            recipe.ReadEvery = readEvery;
            var recorder = new StepRecorder();
            long before = HostRead.ThreadCount;
            Trainer.Run(recipe, recorder);
            return (recorder.Steps, HostRead.ThreadCount - before);
        }
        var (each, eachReads) = Train(1);
        var (third, thirdReads) = Train(3);
        Assert.Equal([1, 2, 3, 4, 5, 6], third.Select(s => s.Step));
        Assert.Equal(each.Select(s => s.Loss), third.Select(s => s.Loss));         // to the last bit: same arithmetic, read later
        Assert.Equal(each.Select(s => s.GradNorm), third.Select(s => s.GradNorm));
        Assert.All(third, s => Assert.True(double.IsFinite(s.Loss) && s.GradNorm > 0, $"step {s.Step}: loss {s.Loss}, norm {s.GradNorm}"));
        Assert.Equal(6, eachReads);
        Assert.Equal(2, thirdReads);                                                // after steps 3 and 6
    }

    [Fact]
    public void DivergenceBetweenReadPoints_StopsAtTheNextReadNamingTheStep_BeforeAnyCheckpoint()
    {
        var recipe = _work.Recipe("lora", 8, "diverging", saveEvery: 4);
        recipe.ReadEvery = 8;
        recipe.Optim.Lr = 1e30;   // the first update sends the adapters' weights to ~1e30: the next forward overflows (RMSNorm squares them)
        var recorder = new StepRecorder();
        var e = Assert.Throws<TrainingDivergedException>(() => Trainer.Run(recipe, recorder));
        Assert.Matches(@"^step [1-4]: (loss|gradient norm) is", e.Message);
        Assert.Empty(recorder.Steps);                                               // nothing was reported as a finished step
        Assert.False(Directory.Exists(Path.Combine(recipe.OutputDir, "checkpoint-4")), "a checkpoint was written after a diverged step");
    }

    [Fact]
    public void ScoredLogitsOnly_TrainsWithTheFullLogitsLossesUpToRounding()
    {
        List<double> Losses(bool scoredOnly)
        {
            var recipe = _work.Recipe("lora", 4, $"scored-{scoredOnly}");
            recipe.ScoredLogitsOnly = scoredOnly;
            var recorder = new StepRecorder();
            Trainer.Run(recipe, recorder);
            return recorder.Steps.Select(s => s.Loss).ToList();
        }
        var full = Losses(false);
        var scored = Losses(true);
        Assert.Equal(4, scored.Count);
        for (int i = 0; i < full.Count; i++)
            Assert.True(Math.Abs(full[i] - scored[i]) <= 1e-4 * Math.Abs(full[i]), $"step {i + 1}: {full[i]} vs {scored[i]}");
    }
}
