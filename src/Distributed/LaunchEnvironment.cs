using System.Globalization;

namespace MultiLora.Distributed;

/// <summary>What started this process, as far as the rank layout goes.</summary>
public enum Launcher
{
    /// <summary>A plain single process.</summary>
    Single,
    /// <summary>OpenMPI's mpirun/mpiexec (OMPI_COMM_WORLD_*).</summary>
    OpenMpi,
    /// <summary>A PMI launcher: MPICH/Intel MPI's Hydra mpiexec (PMI_RANK, PMI_SIZE, MPI_LOCALRANKID).</summary>
    Pmi,
    /// <summary>Slurm's srun (SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID).</summary>
    Slurm,
    /// <summary>torchrun-style environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT).</summary>
    Torchrun,
}

/// <summary>
/// The rank, world size and local rank of this process, read from whichever launcher's variables are present
/// (in this order: OpenMPI, PMI, Slurm's srun, torchrun). Under srun only a job step counts: a batch script
/// also has SLURM_PROCID=0 and SLURM_NTASKS but is one process, so the step's own SLURM_STEP_NUM_TASKS is
/// required. MASTER_ADDR/MASTER_PORT are kept whatever the launcher (the NCCL rendezvous may use them).
/// </summary>
public sealed record LaunchEnvironment(Launcher Launcher, int Rank, int WorldSize, int LocalRank, string? MasterAddr = null, int? MasterPort = null)
{
    public static LaunchEnvironment SingleProcess { get; } = new(Launcher.Single, 0, 1, 0);

    public bool IsDistributed => WorldSize > 1;

    /// <summary>Whether an MPI library can be expected to know the ranks (MPI_Init sees the same world).</summary>
    public bool LaunchedByMpi => Launcher is Launcher.OpenMpi or Launcher.Pmi or Launcher.Slurm;

    public static LaunchEnvironment Detect() => Detect(Environment.GetEnvironmentVariable);

    /// <summary>
    /// The device this rank trains on: under a launcher, cuda (or auto where CUDA is available) becomes this rank's own
    /// GPU, cuda:LOCAL_RANK; anything else is used as given.
    /// </summary>
    public string RankDevice(string device)
    {
        if (!IsDistributed) return device;
        string d = device.Trim().ToLowerInvariant();
        bool cuda = d == "cuda" || d == "auto" && MultiLora.Core.Runtime.TorchRuntime.ResolveDevice("auto").type == TorchSharp.DeviceType.CUDA;
        return cuda ? $"cuda:{LocalRank}" : d == "auto" ? "cpu" : device;
    }

    public static LaunchEnvironment Detect(Func<string, string?> env)
    {
        string? addr = Blank(env("MASTER_ADDR"));
        int? port = Blank(env("MASTER_PORT")) is { } p ? Int("MASTER_PORT", p) : null;
        LaunchEnvironment From(Launcher launcher, string rank, string size, string local)
        {
            string sizeValue = Blank(env(size)) ?? throw new InvalidDataException($"{rank} is set but {size} is not");
            int localRank = Blank(env(local)) is { } l ? Int(local, l) : 0;
            return Validated(new LaunchEnvironment(launcher, Int(rank, Blank(env(rank))!), Int(size, sizeValue), localRank, addr, port), rank, size);
        }

        if (Blank(env("OMPI_COMM_WORLD_RANK")) is not null)
            return From(Launcher.OpenMpi, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK");
        if (Blank(env("PMI_RANK")) is not null && Blank(env("PMI_SIZE")) is not null)
            return From(Launcher.Pmi, "PMI_RANK", "PMI_SIZE", Blank(env("MPI_LOCALRANKID")) is not null ? "MPI_LOCALRANKID" : "PMI_LOCAL_RANK");
        if (Blank(env("SLURM_PROCID")) is not null && Blank(env("SLURM_STEP_NUM_TASKS")) is not null)
            return From(Launcher.Slurm, "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID");
        if (Blank(env("RANK")) is not null && Blank(env("WORLD_SIZE")) is not null)
            return From(Launcher.Torchrun, "RANK", "WORLD_SIZE", "LOCAL_RANK");
        return SingleProcess with { MasterAddr = addr, MasterPort = port };
    }

    /// <summary>"rank 1 of 2, local rank 1, launched by openmpi".</summary>
    public override string ToString() => $"rank {Rank} of {WorldSize}, local rank {LocalRank}, launched by {Launcher.ToString().ToLowerInvariant()}";

    static LaunchEnvironment Validated(LaunchEnvironment e, string rankKey, string sizeKey)
    {
        if (e.WorldSize < 1) throw new InvalidDataException($"{sizeKey}={e.WorldSize}: the world size must be at least 1");
        if (e.Rank < 0 || e.Rank >= e.WorldSize) throw new InvalidDataException($"{rankKey}={e.Rank}: not a rank of a world of {e.WorldSize} ({sizeKey})");
        if (e.LocalRank < 0) throw new InvalidDataException($"local rank {e.LocalRank} is negative");
        return e;
    }

    static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    static int Int(string key, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
        : throw new InvalidDataException($"{key}='{value}' is not an integer");
}
