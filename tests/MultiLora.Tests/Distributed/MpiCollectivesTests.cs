namespace MultiLora.Tests.Distributed;

/// <summary>The mpi backend across real processes: `multilora distributed check` under mpirun (Open MPI from .ci/run).</summary>
[Collection(DistributedCollection.Name)]
public sealed class MpiCollectivesTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]   // an odd world: MPI's algorithms for non-powers of two, broadcast from rank 2
    public void EveryRank_GetsExactResultsFromEveryCollective(int ranks)
    {
        var result = RankLauncher.Run(RankLauncher.MpirunJob(ranks, ["distributed", "check", "--backend", "mpi"]), TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, result.Output);
        for (int r = 0; r < ranks; r++)
            Assert.Contains($"rank {r} of {ranks}, local rank {r}, launched by openmpi: 10/10 collective checks passed on cpu over mpi (Open MPI", result.Output);
    }

    [Fact]
    public void ARankThatRaises_StopsTheOthersAtOnce_NamingIt()
    {
        var psi = RankLauncher.MpirunJobReportingExitCodes(2, ["distributed", "check", "--simulate-failure", "1", "--heartbeat-timeout", "120"]);
        var result = RankLauncher.Run(psi, TimeSpan.FromMinutes(2));
        Assert.Contains("rank 1: simulated failure (--simulate-failure 1)", result.Output);
        Assert.Contains("error: distributed: rank 1 failed (its own output has the error); rank 0 stops", result.Output);
        Assert.Contains("rank 0 exited with 1", result.Output);
        Assert.Contains("rank 1 exited with 1", result.Output);
        // far sooner than the 120 s heartbeat timeout: the failing rank said so before exiting
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(60), $"took {result.Elapsed.TotalSeconds:0} s:\n{result.Output}");
    }
}

/// <summary>
/// Multi-process tests run one at a time: each already uses both cores. They share one workspace, so a 2-rank run
/// (the lora one: equivalence, resume and the srun comparison) is launched once for the whole collection.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DistributedCollection : ICollectionFixture<DataParallelWorkspace>
{
    public const string Name = "distributed";
}
