using MultiLora.Eval.Running;

namespace MultiLora.Sweeps.Execution;

/// <summary>Who runs a run: the host, the process, the Slurm array task ("JOB_TASK") when there is one, the tool's commit.</summary>
public sealed record RunContext(string Host, int Pid, string? SlurmJob, string? GitCommit)
{
    public static RunContext Current() => new(Environment.MachineName, Environment.ProcessId, SlurmTask(), ToolCommit());

    /// <summary>SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID inside an array task, SLURM_JOB_ID inside another job, else null.</summary>
    public static string? SlurmTask() =>
        Environment.GetEnvironmentVariable("SLURM_ARRAY_JOB_ID") is { Length: > 0 } job
            ? $"{job}_{Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID")}"
            : Environment.GetEnvironmentVariable("SLURM_JOB_ID") is { Length: > 0 } single ? single : null;

    /// <summary>
    /// The commit multilora was built from (embedded at build time), else the one checked out around the binary
    /// (null outside a git checkout). Read from the build, a commit made while a sweep runs does not relabel it.
    /// </summary>
    public static string? ToolCommit() =>
        typeof(RunContext).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "GitCommit" && a.Value is { Length: 40 })?.Value
        ?? GitInfo.Commit(AppContext.BaseDirectory);
}
