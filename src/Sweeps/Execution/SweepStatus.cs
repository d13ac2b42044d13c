using MultiLora.Sweeps.Launchers;
using MultiLora.Sweeps.Registry;

namespace MultiLora.Sweeps.Execution;

/// <summary>A run as `sweep status` shows it: the stored row, the state it is really in, and what Slurm says of its job.</summary>
public sealed record RunState(RunRow Row, string State, string? Detail);

/// <summary>
/// Works out each run's state: done and failed as recorded; running or queued as recorded while its process
/// (local) or its job (Slurm: squeue, then sacct where accounting exists, then the tasks' exit records) is alive;
/// "interrupted" when it is gone without recording a result; the next `sweep run` resumes those.
/// </summary>
public static class SweepStatus
{
    public static List<RunState> Read(RunRegistry registry, string sweep, string workspace, SlurmClient? slurm)
    {
        var rows = registry.Runs(sweep);
        Dictionary<string, SlurmTaskState> queue = [], finished = [];
        Dictionary<string, string> exits = [];
        if (slurm is not null && rows.Any(r => r.SlurmJob is not null))
        {
            queue = slurm.Queue();
            finished = slurm.Accounting(rows.Where(r => r.SlurmJob is not null && !queue.ContainsKey(r.SlurmJob)).Select(r => SlurmLauncher.ArrayJob(r.SlurmJob!)));
            exits = ExitRecords(workspace);
        }
        return rows.Select(row => State(row, queue, finished, exits)).ToList();
    }

    static RunState State(RunRow row, Dictionary<string, SlurmTaskState> queue, Dictionary<string, SlurmTaskState> finished, Dictionary<string, string> exits)
    {
        if (row.Status is RunStatus.Done or RunStatus.Failed) return new(row, row.Status, row.Error);
        if (row.SlurmJob is { } job)
        {
            if (queue.TryGetValue(job, out var q))
                return new(row, q.State == "PENDING" ? RunStatus.Queued : RunStatus.Running, $"{q.State}{(q.Reason is "" or "None" ? "" : $" ({q.Reason})")}");
            string gone = finished.TryGetValue(job, out var f) ? $"job {job} ended {f.State}"
                : exits.TryGetValue(job, out var code) ? $"job {job} exited {code}" : $"job {job} is no longer queued";
            return new(row, RunStatus.Interrupted, gone);
        }
        if (row.Status == RunStatus.Running)
            return RunLiveness.LocalProcessAlive(row) ? new(row, RunStatus.Running, $"pid {row.Pid}") : new(row, RunStatus.Interrupted, $"process {row.Pid} on {row.Host} is gone");
        return new(row, RunStatus.Queued, null);
    }

    /// <summary>"JOB_TASK" -> exit code from every exit-codes file the sbatch scripts appended to.</summary>
    static Dictionary<string, string> ExitRecords(string workspace)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        string dir = Path.Combine(workspace, "slurm");
        if (!Directory.Exists(dir)) return map;
        foreach (var file in Directory.EnumerateFiles(dir, SlurmLauncher.ExitCodesFile, SearchOption.AllDirectories))
            foreach (var line in File.ReadLines(file))
                if (line.Split(' ') is [var task, var code]) map[task] = code;
        return map;
    }
}
