using MultiLora.Llava.Training;
using MultiLora.Tests.Training;

namespace MultiLora.Tests.Distributed;

/// <summary>
/// `mpirun -n 2 multilora train` against one process with twice the batch, on the built-in tiny model: the
/// issue's equivalence, resume-on-another-world-size and lost-rank checks.
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class DataParallelTrainingTests(DataParallelWorkspace space, ITestOutputHelper log) : IClassFixture<DataParallelWorkspace>
{
    const double Tolerance = 1e-5;
    static readonly TimeSpan JobLimit = TimeSpan.FromMinutes(4);

    string TwoRanks(string method, int accum, string output, int saveEvery = 0)
    {
        var recipe = space.Recipe(method, batch: 2, accum, output, saveEvery: saveEvery);
        var yaml = space.WriteYaml(recipe, output);
        var job = RankLauncher.Run(RankLauncher.MpirunJob(2, ["train", "--recipe", yaml]), JobLimit);
        Assert.True(job.ExitCode == 0, job.Output);
        return recipe.OutputDir;
    }

    [Theory]
    [InlineData("lora", 1)]
    [InlineData("full", 1)]
    [InlineData("lora", 2)]
    [InlineData("full", 2)]
    public void TwoRanksOfBatchTwo_TrainLikeOneProcessOfBatchFour(string method, int accum)
    {
        var single = space.Recipe(method, batch: 4, accum, $"one-{method}-{accum}");
        var recorder = new StepRecorder();
        Trainer.Run(single, recorder);
        string two = TwoRanks(method, accum, $"two-{method}-{accum}");

        var steps = DataParallelWorkspace.Steps(two);
        Assert.Equal(Enumerable.Range(1, 10), steps.Select(s => s.Step));
        log.WriteLine($"{method} grad_accum {accum}: max |loss difference| {steps.Select((s, i) => Math.Abs(s.Loss - recorder.Steps[i].Loss)).Max():E2}, all-reduced {steps[0].AllReducedBytes} bytes/step");
        for (int i = 0; i < 10; i++)
            Assert.True(Math.Abs(steps[i].Loss - recorder.Steps[i].Loss) <= Tolerance,
                $"step {i + 1}: 2 ranks {steps[i].Loss:R}, 1 process {recorder.Steps[i].Loss:R}");
        var (diff, where) = DataParallelWorkspace.MaxDifference(
            DataParallelWorkspace.Trainable(Path.Combine(single.OutputDir, "checkpoint-10")), DataParallelWorkspace.Trainable(Path.Combine(two, "checkpoint-10")));
        log.WriteLine($"{method} grad_accum {accum}: max |weight difference| {diff:E2} ({where})");
        Assert.True(diff <= Tolerance, $"final trainable weights differ by {diff} ({where})");
        Assert.All(steps, s => Assert.True(s.AllReducedBytes > 0, $"step {s.Step}: nothing all-reduced"));
    }
}
