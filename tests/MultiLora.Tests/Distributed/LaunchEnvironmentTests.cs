using MultiLora.Distributed;

namespace MultiLora.Tests.Distributed;

public sealed class LaunchEnvironmentTests
{
    static LaunchEnvironment Detect(params (string Key, string Value)[] vars)
    {
        var env = vars.ToDictionary(v => v.Key, v => v.Value);
        return LaunchEnvironment.Detect(k => env.GetValueOrDefault(k));
    }

    [Fact]
    public void NoLauncherVariables_IsOneProcess()
    {
        var e = Detect();
        Assert.Equal((Launcher.Single, 0, 1, 0), (e.Launcher, e.Rank, e.WorldSize, e.LocalRank));
        Assert.False(e.IsDistributed);
    }

    [Fact]
    public void OpenMpiVariables_GiveRankWorldAndLocalRank()
    {
        var e = Detect(("OMPI_COMM_WORLD_RANK", "3"), ("OMPI_COMM_WORLD_SIZE", "8"), ("OMPI_COMM_WORLD_LOCAL_RANK", "1"),
            ("SLURM_PROCID", "0"), ("SLURM_STEP_NUM_TASKS", "1"));   // mpirun inside an allocation: Open MPI's own variables win
        Assert.Equal((Launcher.OpenMpi, 3, 8, 1), (e.Launcher, e.Rank, e.WorldSize, e.LocalRank));
        Assert.True(e.LaunchedByMpi);
    }

    [Fact]
    public void HydraPmiVariables_AreRead()
    {
        var e = Detect(("PMI_RANK", "1"), ("PMI_SIZE", "4"), ("MPI_LOCALRANKID", "1"));
        Assert.Equal((Launcher.Pmi, 1, 4, 1), (e.Launcher, e.Rank, e.WorldSize, e.LocalRank));
    }

    [Fact]
    public void SrunStep_IsRead_ButABatchScriptAloneIsOneProcess()
    {
        var step = Detect(("SLURM_PROCID", "5"), ("SLURM_STEP_NUM_TASKS", "16"), ("SLURM_LOCALID", "1"), ("SLURM_NTASKS", "16"));
        Assert.Equal((Launcher.Slurm, 5, 16, 1), (step.Launcher, step.Rank, step.WorldSize, step.LocalRank));
        // an sbatch script sees SLURM_PROCID=0 and the job's SLURM_NTASKS without being one of N tasks
        var batch = Detect(("SLURM_PROCID", "0"), ("SLURM_NTASKS", "16"), ("SLURM_JOB_ID", "42"));
        Assert.Equal(Launcher.Single, batch.Launcher);
    }

    [Fact]
    public void TorchrunVariables_KeepTheRendezvousAddress()
    {
        var e = Detect(("RANK", "2"), ("WORLD_SIZE", "4"), ("LOCAL_RANK", "0"), ("MASTER_ADDR", "node7"), ("MASTER_PORT", "29500"));
        Assert.Equal((Launcher.Torchrun, 2, 4, 0, "node7", 29500), (e.Launcher, e.Rank, e.WorldSize, e.LocalRank, e.MasterAddr, e.MasterPort));
        Assert.False(e.LaunchedByMpi);
    }

    [Theory]
    [InlineData("OMPI_COMM_WORLD_RANK", "two", "OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_RANK='two' is not an integer")]
    [InlineData("RANK", "4", "WORLD_SIZE", "4", "RANK=4: not a rank of a world of 4 (WORLD_SIZE)")]
    [InlineData("RANK", "0", "WORLD_SIZE", "0", "WORLD_SIZE=0: the world size must be at least 1")]
    public void BadValues_AreOneLineErrorsNamingTheVariable(string rankKey, string rank, string sizeKey, string size, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => Detect((rankKey, rank), (sizeKey, size)));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void RankWithoutWorldSize_IsAnError()
    {
        var e = Assert.Throws<InvalidDataException>(() => Detect(("OMPI_COMM_WORLD_RANK", "0")));
        Assert.Equal("OMPI_COMM_WORLD_RANK is set but OMPI_COMM_WORLD_SIZE is not", e.Message);
    }

    [Fact]
    public void UnderALauncher_CudaMeansThisRanksOwnGpu()
    {
        var rank = new LaunchEnvironment(Launcher.Slurm, 5, 8, 1);
        Assert.Equal("cuda:1", rank.RankDevice("cuda"));
        Assert.Equal("cpu", rank.RankDevice("cpu"));
        Assert.Equal("cuda:0", rank.RankDevice("cuda:0"));   // an explicit device is the user's choice
        Assert.Equal("cpu", rank.RankDevice("auto"));        // no CUDA on this machine
        Assert.Equal("cuda", LaunchEnvironment.SingleProcess.RankDevice("cuda"));
    }
}
