using System.Globalization;
using System.Text;
using MultiLora.Sweeps.Grid;
using MultiLora.Sweeps.Planning;
using MultiLora.Sweeps.Registry;

namespace MultiLora.Sweeps.Launchers;

/// <summary>
/// Submits a sweep to Slurm: one sbatch array script per stage (base runs, stage-1 runs, cells; one array task per
/// run not done yet), each stage depending on the one before with --dependency=afterok, so stage-1 projector
/// pretraining finishes before any cell starts. Each task runs `multilora sweep cell GRID --key KEY` and writes
/// the same registry; its exit code is appended to the scripts' exit-codes file (a record that needs no Slurm
/// accounting). Runs still queued or running in a live job are left to it.
/// </summary>
public sealed class SlurmLauncher(SelfCommand self, SlurmClient slurm, ISweepProgress progress)
{
    public const string ExitCodesFile = "exit-codes";

    /// <summary>Submits what is pending; returns the array job ids, in stage order.</summary>
    public IReadOnlyList<string> Submit(SweepPlan plan, RunRegistry registry)
    {
        var grid = plan.Grid;
        var queue = slurm.Queue();
        var rows = registry.Runs(grid.Name).ToDictionary(r => r.Key);
        bool Live(RunRow row) => row.SlurmJob is { } job && queue.ContainsKey(job) && row.Status is RunStatus.Queued or RunStatus.Running;

        string dir = Path.Combine(grid.Workspace, "slurm", $"{grid.Name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        Directory.CreateDirectory(dir);
        var jobs = new List<string>();
        string? previous = null;
        foreach (var stage in new[] { RunKind.Base, RunKind.Stage1, RunKind.Cell })
        {
            var runs = plan.Runs.Where(r => r.Kind == stage).ToList();
            var pending = runs.Where(r => rows[r.Key].Status != RunStatus.Done && !Live(rows[r.Key])).ToList();
            // this stage waits for the stage submitted just before, and for upstream runs still in an earlier live job
            var dependsOn = pending.Select(r => r.Upstream).Where(u => u is not null && Live(rows[u])).Select(u => ArrayJob(rows[u!].SlurmJob!))
                .Concat(previous is null ? [] : [previous]).Distinct().ToList();
            if (pending.Count == 0) continue;
            string name = stage.ToString().ToLowerInvariant();
            File.WriteAllLines(Path.Combine(dir, name + ".keys"), pending.Select(r => r.Key));
            string script = Path.Combine(dir, name + ".sbatch");
            File.WriteAllText(script, Script(grid, name, pending.Count, dir));
            string job = slurm.Submit(script, dependsOn);
            for (int i = 0; i < pending.Count; i++) registry.SetQueued(rows[pending[i].Key].Id, $"{job}_{i}");
            progress.Message($"submitted {name}: array job {job} with {pending.Count} task(s){(dependsOn.Count > 0 ? $", after {string.Join(", ", dependsOn)}" : "")} ({script})");
            jobs.Add(job);
            previous = job;
        }
        if (jobs.Count == 0) progress.Message("nothing to submit: every run is done or queued/running in a live job");
        return jobs;
    }

    /// <summary>scancel of every job holding a run of the sweep that is not finished; those runs are recorded as failed ("cancelled").</summary>
    public IReadOnlyList<string> Cancel(string sweep, RunRegistry registry)
    {
        var open = registry.Runs(sweep).Where(r => r.SlurmJob is not null && r.Status is RunStatus.Queued or RunStatus.Running).ToList();
        var jobs = open.Select(r => ArrayJob(r.SlurmJob!)).Distinct().ToList();
        slurm.Cancel(jobs);
        foreach (var r in open) registry.Finish(r.Id, RunStatus.Failed, $"cancelled (scancel {ArrayJob(r.SlurmJob!)})");
        return jobs;
    }

    public static string ArrayJob(string task) => task.Split('_')[0];

    string Script(GridSpec grid, string stage, int tasks, string dir)
    {
        var l = grid.Launcher;
        var sb = new StringBuilder();
        sb.AppendLine("#!/bin/bash");
        sb.AppendLine($"#SBATCH --job-name=multilora-{grid.Name}-{stage}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --array=0-{tasks - 1}");
        sb.AppendLine($"#SBATCH --output={Path.Combine(dir, stage)}-%A_%a.log");
        sb.AppendLine("#SBATCH --kill-on-invalid-dep=yes");
        if (l.Partition is { } p) sb.AppendLine($"#SBATCH --partition={p}");
        if (l.Gpus > 0) sb.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --gres=gpu:{l.Gpus}");
        if (l.Cpus is { } c) sb.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={c}");
        if (l.Memory is { } m) sb.AppendLine($"#SBATCH --mem={m}");
        if (l.Time is { } t) sb.AppendLine($"#SBATCH --time={t}");
        foreach (var line in l.Extra) sb.AppendLine(line);
        sb.AppendLine();
        sb.AppendLine($"KEY=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {Shell.Quote(Path.Combine(dir, stage + ".keys"))})");
        sb.AppendLine($"{self.ShellLine("sweep", "cell", grid.File)} --key \"$KEY\"");
        sb.AppendLine("rc=$?");
        sb.AppendLine($"echo \"${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}} $rc\" >> {Shell.Quote(Path.Combine(dir, ExitCodesFile))}");
        sb.AppendLine("exit $rc");
        return sb.ToString();
    }
}
