using MultiLora.Sweeps.Launchers;
using MultiLora.Sweeps.Registry;

namespace MultiLora.Tests.Sweeps;

/// <summary>Runs only where Slurm can be started here (slurm-wlm installed, root); says why otherwise.</summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    public SlurmFactAttribute()
    {
        if (!SlurmClient.Installed()) Skip = "slurm-wlm is not installed (apt-get install -y slurm-wlm munge; .ci/run installs it)";
        else if (Environment.UserName != "root") Skip = "starting the local Slurm cluster (scripts/slurm-local.sh) needs root";
    }
}

public class SlurmSweepTests
{
    [SlurmFact]
    public void The_slurm_launcher_runs_three_cells_after_their_shared_stage1_as_array_jobs_into_the_registry()
    {
        using var bed = new SweepTestbed("slurm", "  model.builtin: [micro]\n  method: [full, lora, qlora]", launcher: "slurm", steps: 3, saveEvery: 0);
        string script = SweepTestbed.RepoFile("scripts/slurm-local.sh");
        var env = new Dictionary<string, string>
        {
            ["MULTILORA_SLURM_DIR"] = Path.Combine(bed.Root, "slurm-state"),
            ["MULTILORA_SLURM_PORT"] = (20000 + Environment.ProcessId % 5000 * 2).ToString(),
        };
        env["SLURM_CONF"] = Path.Combine(env["MULTILORA_SLURM_DIR"], "slurm.conf");
        var (code, output) = Shell(script, "start", env);
        Assert.True(code == 0, $"slurm-local.sh start failed: {output}");
        try
        {
            (code, output) = bed.Run(env, "sweep", "run", bed.Grid);
            Assert.True(code == 0, output);
            Assert.Contains("submitted stage1: array job", output);
            Assert.Contains("submitted cell: array job", output);

            var clock = System.Diagnostics.Stopwatch.StartNew();
            List<RunRow> rows;
            while (true)
            {
                using (var registry = RunRegistry.Open(bed.Registry)) rows = registry.Runs("slurm");
                if (rows.All(r => r.Status is RunStatus.Done or RunStatus.Failed)) break;
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(8), "the array jobs did not finish in 8 minutes: " + bed.Run(env, "sweep", "status", bed.Grid).Output);
                Thread.Sleep(500);
            }
            Assert.All(rows, r => Assert.True(r.Status == RunStatus.Done, $"{r.Key}: {r.Status} {r.Error}"));
            var stage1 = Assert.Single(rows, r => r.Kind == "stage1");
            var cells = rows.Where(r => r.Kind == "cell").ToList();
            Assert.Equal(3, cells.Count);
            string stage1Job = SlurmLauncher.ArrayJob(stage1.SlurmJob!);
            Assert.All(cells, c =>
            {
                Assert.Matches(@"^\d+_[0-2]$", c.SlurmJob!);
                Assert.NotEqual(stage1Job, SlurmLauncher.ArrayJob(c.SlurmJob!));
                Assert.True(string.CompareOrdinal(c.StartedUtc, stage1.FinishedUtc) > 0, "a cell started before its stage-1 run finished");
                Assert.Equal(3, c.LastStep);
                Assert.True(c.WallSeconds > 0 && c.Tokens > 0);
            });
            using (var registry = RunRegistry.Open(bed.Registry))
                Assert.All(cells, c => Assert.Contains(registry.Evals(c.Id), e => e.Task == "synth_vqa"));

            (code, output) = bed.Run(env, "sweep", "status", bed.Grid);
            Assert.True(code == 0, output);
            Assert.Contains("4 done, 0 failed", output);
        }
        finally
        {
            Shell(script, "stop", env);
        }
    }

    static (int, string) Shell(string script, string verb, Dictionary<string, string> env)
    {
        var info = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(verb);
        foreach (var (k, v) in env) info.Environment[k] = v;
        using var p = System.Diagnostics.Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr);
    }

}
