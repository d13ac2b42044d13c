using System.Diagnostics;

namespace MultiLora.Tests.Distributed;

/// <summary>The 2-rank data-parallel run launched by srun on a one-node Slurm cluster started for the test.</summary>
[Collection(DistributedCollection.Name)]
public sealed class SlurmLaunchTests(DataParallelWorkspace space)
{
    [Sweeps.SlurmFact]   // the sweep tests' rule: slurm-wlm installed and root, else skipped saying which
    public void SrunTwoRanks_TrainsExactlyAsMpirunDoes()
    {
        string mpirunRun = space.TwoRankRun("lora", 1);
        string state = Path.Combine(space.Work.Root, "slurm-state");
        var env = new Dictionary<string, string>
        {
            ["MULTILORA_SLURM_DIR"] = state,
            // its own ports: the sweep tests start clusters of their own from 20000 up
            ["MULTILORA_SLURM_PORT"] = (30000 + Environment.ProcessId % 5000 * 2).ToString(),
            ["SLURM_CONF"] = Path.Combine(state, "slurm.conf"),
        };
        string script = Sweeps.SweepTestbed.RepoFile("scripts/slurm-local.sh");
        var (code, output) = Shell(script, "start", env);
        Assert.True(code == 0, $"slurm-local.sh start failed: {output}");
        try
        {
            var recipe = space.Recipe("lora", batch: 2, accum: 1, "srun-lora", saveEvery: 5);
            var psi = new ProcessStartInfo("srun") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-n", "2", "dotnet", RankLauncher.Cli, "train", "--recipe", space.WriteYaml(recipe, "srun-lora") }) psi.ArgumentList.Add(a);
            foreach (var (k, v) in env) psi.Environment[k] = v;
            psi.Environment["SLURM_MPI_TYPE"] = "pmix";   // = srun --mpi=pmix; the local cluster's MpiDefault is none
            var job = RankLauncher.Run(psi, TimeSpan.FromMinutes(4));
            Assert.True(job.ExitCode == 0, job.Output);
            Assert.Contains("2 ranks launched by slurm over mpi", job.Output, StringComparison.Ordinal);

            // within the equivalence tolerance, not bit for bit: libtorch's threaded CPU reductions may round differently run to run
            var viaMpirun = DataParallelWorkspace.Steps(mpirunRun);
            var viaSrun = DataParallelWorkspace.Steps(recipe.OutputDir);
            Assert.Equal(viaMpirun.Select(s => s.Step), viaSrun.Select(s => s.Step));
            for (int i = 0; i < viaMpirun.Count; i++)
                Assert.True(Math.Abs(viaMpirun[i].Loss - viaSrun[i].Loss) <= 1e-5, $"step {i + 1}: mpirun {viaMpirun[i].Loss:R}, srun {viaSrun[i].Loss:R}");
            var (diff, where) = DataParallelWorkspace.MaxDifference(
                DataParallelWorkspace.Trainable(Path.Combine(mpirunRun, "checkpoint-10")), DataParallelWorkspace.Trainable(Path.Combine(recipe.OutputDir, "checkpoint-10")));
            Assert.True(diff <= 1e-5, $"srun's weights differ from mpirun's by {diff} ({where})");
        }
        finally { Shell(script, "stop", env); }
    }

    static (int Code, string Output) Shell(string script, string verb, IReadOnlyDictionary<string, string> env)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(verb);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var result = RankLauncher.Run(psi, TimeSpan.FromMinutes(2));
        return (result.ExitCode, result.Output);
    }
}
