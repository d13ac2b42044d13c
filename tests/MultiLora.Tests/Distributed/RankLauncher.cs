using System.Diagnostics;
using System.Text;

namespace MultiLora.Tests.Distributed;

/// <summary>What a launched job printed and how it ended.</summary>
public sealed record JobResult(int ExitCode, string Output, TimeSpan Elapsed);

/// <summary>
/// Starts `multilora` (the CLI next to the test assembly) as N ranks under mpirun or srun, as a user would.
/// OpenMPI comes from .ci/run (openmpi-bin); mpirun runs as root in CI, so --allow-run-as-root, and oversubscribes
/// the 2-core machine. Each job carries a unique tag in its environment so a test can find its rank processes.
/// </summary>
public static class RankLauncher
{
    public static string Cli { get; } = Path.Combine(AppContext.BaseDirectory, "multilora.dll");

    public static string Mpirun { get; } = Which("mpirun") ?? throw new FileNotFoundException("mpirun not found: install Open MPI (apt-get install openmpi-bin libopenmpi-dev; .ci/run does)");

    /// <summary>mpirun -n <paramref name="ranks"/> dotnet multilora.dll ARGS.</summary>
    public static ProcessStartInfo MpirunJob(int ranks, IEnumerable<string> cliArgs, IEnumerable<string>? mpirunFlags = null)
    {
        var psi = new ProcessStartInfo(Mpirun) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", ranks.ToString() }) psi.ArgumentList.Add(a);
        foreach (var a in mpirunFlags ?? []) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("dotnet");
        psi.ArgumentList.Add(Cli);
        foreach (var a in cliArgs) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>
    /// mpirun -n <paramref name="ranks"/> --enable-recovery sh -c "dotnet multilora.dll ARGS; echo rank R exited with CODE":
    /// --enable-recovery keeps mpirun from killing the surviving ranks itself when one fails (its default, and srun's
    /// with --kill-on-bad-exit), so a test sees what our own failure handling does; sh prints each rank's exit code.
    /// </summary>
    public static ProcessStartInfo MpirunJobReportingExitCodes(int ranks, IEnumerable<string> cliArgs)
    {
        var psi = new ProcessStartInfo(Mpirun) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", ranks.ToString(), "--enable-recovery" }) psi.ArgumentList.Add(a);
        foreach (var a in new[] { "sh", "-c", "dotnet \"$0\" \"$@\"; echo \"rank $OMPI_COMM_WORLD_RANK exited with $?\"", Cli }) psi.ArgumentList.Add(a);
        foreach (var a in cliArgs) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Runs a job to its end (killing it after <paramref name="timeout"/>) and returns its merged output.</summary>
    public static JobResult Run(ProcessStartInfo psi, TimeSpan timeout)
    {
        using var job = new Job(psi);
        return job.Wait(timeout);
    }

    public static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    /// <summary>A running job whose output is collected as it comes.</summary>
    public sealed class Job : IDisposable
    {
        readonly Process _process;
        readonly StringBuilder _output = new();
        readonly Stopwatch _clock = Stopwatch.StartNew();

        public string Tag { get; } = "multilora-test-" + Guid.NewGuid().ToString("N");

        public Job(ProcessStartInfo psi)
        {
            psi.Environment["MULTILORA_TEST_JOB"] = Tag;
            psi.Environment["TERM"] = "dumb";
            _process = new Process { StartInfo = psi };
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output { get { lock (_output) return _output.ToString(); } }

        public bool HasExited => _process.HasExited;

        public JobResult Wait(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
                return new JobResult(-1, Output + $"\n(killed by the test after {timeout.TotalSeconds:0} s)", _clock.Elapsed);
            }
            _process.WaitForExit();   // drains the output readers
            return new JobResult(_process.ExitCode, Output, _clock.Elapsed);
        }

        /// <summary>The pid of this job's rank <paramref name="rank"/> (found by the job's tag in /proc/PID/environ), or null.</summary>
        public int? RankPid(int rank)
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == _process.Id) continue;
                string environ;
                try { environ = File.ReadAllText(Path.Combine(dir, "environ")); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
                var vars = environ.Split('\0');
                if (!vars.Contains($"MULTILORA_TEST_JOB={Tag}")) continue;
                if (vars.Contains($"OMPI_COMM_WORLD_RANK={rank}") || vars.Contains($"SLURM_PROCID={rank}") && vars.Any(v => v.StartsWith("SLURM_STEP_ID=", StringComparison.Ordinal)))
                {
                    // the rank itself, not a wrapper shell: its command line runs multilora.dll
                    string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                    if (cmdline.Contains("multilora.dll", StringComparison.Ordinal) && !cmdline.StartsWith("sh\0", StringComparison.Ordinal) && !cmdline.StartsWith("/bin/sh", StringComparison.Ordinal)) return pid;
                }
            }
            return null;
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }
}
