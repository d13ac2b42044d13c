using System.Diagnostics;
using MultiLora.Llava.Training;

namespace MultiLora.Tests.Distributed;

/// <summary>A rank SIGKILLed mid-run: the survivor must stop on its own (the watchdog), naming it, in bounded time.</summary>
[Collection(DistributedCollection.Name)]
public sealed class LostRankTests(DataParallelWorkspace space)
{
    [Fact]
    public void ARankKilledAtStepThree_StopsTheOtherWithinAMinute_NamingIt_AndTheLastCheckpointStaysIntact()
    {
        var recipe = space.Recipe("lora", batch: 2, accum: 1, "killed", steps: 500, saveEvery: 1);
        string yaml = space.WriteYaml(recipe, "killed", "distributed:\n  heartbeat_timeout_s: 10");
        using var job = new RankLauncher.Job(RankLauncher.MpirunJobReportingExitCodes(2, ["train", "--recipe", yaml]));

        string metrics = Path.Combine(recipe.OutputDir, "metrics.jsonl");
        var wait = Stopwatch.StartNew();
        while (!(File.Exists(metrics) && DataParallelWorkspace.Steps(recipe.OutputDir).Count >= 3))
        {
            Assert.False(job.HasExited, $"the job ended before step 3:\n{job.Output}");
            Assert.True(wait.Elapsed < TimeSpan.FromMinutes(4), $"no step 3 after 4 minutes:\n{job.Output}");
            Thread.Sleep(100);
        }
        int victim = job.RankPid(1) ?? throw new InvalidOperationException($"rank 1's process not found:\n{job.Output}");
        Process.GetProcessById(victim).Kill();   // SIGKILL
        var killedAt = Stopwatch.StartNew();
        var result = job.Wait(TimeSpan.FromSeconds(90));
        var stopped = killedAt.Elapsed;

        Assert.Contains("rank 1 stopped responding: no heartbeat for", result.Output);
        Assert.Contains("rank 0 exited with 1", result.Output);
        Assert.True(stopped < TimeSpan.FromSeconds(60), $"rank 0 took {stopped.TotalSeconds:0} s to stop:\n{result.Output}");
        // the newest checkpoint is complete and loads
        string latest = CheckpointStore.Latest(recipe.OutputDir) ?? throw new InvalidOperationException("no checkpoint left");
        Assert.True(DataParallelWorkspace.Trainable(latest).Count > 0);
        Assert.True(TrainState.Read(latest).Step >= 3);
    }
}
