using MultiLora.Llava.Training;
using MultiLora.Tests.Training;
using Xunit.Abstractions;

namespace MultiLora.Tests.Distributed;

/// <summary>
/// `mpirun -n 2 multilora train` against one process with twice the batch, on the built-in tiny model: the
/// issue's equivalence, resume-on-another-world-size and lost-rank checks.
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class DataParallelTrainingTests(DataParallelWorkspace space, ITestOutputHelper log)
{
    const double Tolerance = 1e-5;

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
        string two = space.TwoRankRun(method, accum);

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

    [Fact]
    public void ATwoRankRunStoppedAfterStepFive_ResumesOnOneProcess_AndEndsWithTheSameWeights()
    {
        string two = space.TwoRankRun("lora", 1);
        // what a run stopped after step 5 leaves: its step-5 checkpoint (written atomically by rank 0, unchanged by later steps)
        var resumed = space.Recipe("lora", batch: 4, accum: 1, "resumed-on-one", saveEvery: 5);
        CopyDirectory(Path.Combine(two, "checkpoint-5"), Path.Combine(resumed.OutputDir, "checkpoint-5"));
        var recorder = new StepRecorder();
        Trainer.Run(resumed, recorder, resume: true);

        var twoSteps = DataParallelWorkspace.Steps(two);
        Assert.Equal([6, 7, 8, 9, 10], recorder.Steps.Select(s => s.Step));
        for (int i = 0; i < 5; i++)
            Assert.True(Math.Abs(recorder.Steps[i].Loss - twoSteps[5 + i].Loss) <= Tolerance, $"step {6 + i}: resumed {recorder.Steps[i].Loss:R}, 2 ranks {twoSteps[5 + i].Loss:R}");
        var (diff, where) = DataParallelWorkspace.MaxDifference(
            DataParallelWorkspace.Trainable(Path.Combine(two, "checkpoint-10")), DataParallelWorkspace.Trainable(Path.Combine(resumed.OutputDir, "checkpoint-10")));
        log.WriteLine($"resumed on one process: max |weight difference| {diff:E2} ({where})");
        Assert.True(diff <= Tolerance, $"final weights differ by {diff} ({where})");

        // another global micro-batch would point into another data order: refused, naming both
        var other = space.Recipe("lora", batch: 2, accum: 1, "resumed-wrong-batch");
        CopyDirectory(Path.Combine(two, "checkpoint-5"), Path.Combine(other.OutputDir, "checkpoint-5"));
        var e = Assert.Throws<InvalidDataException>(() => Trainer.Run(other, new StepRecorder(), resume: true));
        Assert.Contains("written with a global micro-batch of 4 (batch_size x 2 ranks), this run's is 2", e.Message);
    }

    static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
