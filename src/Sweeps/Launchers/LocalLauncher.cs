using System.Diagnostics;
using MultiLora.Sweeps.Execution;
using MultiLora.Sweeps.Planning;
using MultiLora.Sweeps.Registry;

namespace MultiLora.Sweeps.Launchers;

/// <summary>
/// Runs a sweep on this machine: each run in its own `multilora sweep cell` process (a crash or an out-of-memory
/// kill costs one run, not the sweep; peak memory is the run's own), one after another or launcher.parallel at a
/// time (slot i sees device i). A run starts once the run it builds on is done; when that one failed, it is recorded
/// as failed without starting. Each process's output goes to WORKSPACE/logs/.
/// </summary>
public sealed class LocalLauncher(SelfCommand self, ISweepProgress progress)
{
    static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    /// <summary>Runs what is not done yet; returns the keys of the runs that failed.</summary>
    public IReadOnlyList<string> Run(SweepPlan plan, RunRegistry registry, CancellationToken ct = default)
    {
        var grid = plan.Grid;
        var todo = new List<PlannedRun>();
        var failed = new List<string>();
        foreach (var run in plan.Runs)
        {
            var row = registry.Run(grid.Name, run.Key)!;
            if (row.Status == RunStatus.Done && Directory.Exists(run.FinalDir)) continue;
            if (row.Status == RunStatus.Running && RunLiveness.LocalProcessAlive(row))
            {
                progress.Message($"{run.Key}: running in process {row.Pid}; left to it");
                continue;
            }
            todo.Add(run);
        }
        int count = todo.Count, started = 0;
        var active = new List<(PlannedRun Run, Process Process, int Slot, RunLog Log)>();
        while (todo.Count > 0 || active.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            foreach (var run in todo.ToList())
            {
                if (active.Count >= grid.Launcher.Parallel) break;
                var up = run.Upstream is null ? null : registry.Run(grid.Name, run.Upstream);
                if (up is not null && up.Status == RunStatus.Failed)
                {
                    todo.Remove(run);
                    var row = registry.Run(grid.Name, run.Key)!;
                    registry.Finish(row.Id, RunStatus.Failed, $"its {up.Kind} run {up.Key} failed: {up.Error}");
                    failed.Add(run.Key);
                    progress.Finished(registry.Run(row.Id)!);
                    continue;
                }
                if (up is not null && up.Status != RunStatus.Done) continue;
                todo.Remove(run);
                int slot = Enumerable.Range(0, grid.Launcher.Parallel).First(s => active.All(a => a.Slot != s));
                var log = new RunLog(Path.Combine(grid.Workspace, "logs", Path.GetFileName(run.OutputDir) + ".log"));
                active.Add((run, Start(plan, run, slot, log), slot, log));
                progress.Started(registry.Run(grid.Name, run.Key)!, ++started, count);
            }
            if (active.Count == 0)
            {
                // what is left waits on runs another process owns
                foreach (var run in todo) progress.Message($"{run.Key}: waits for {run.Upstream}, which another process is running; run the sweep again when it is done");
                break;
            }
            Thread.Sleep(Poll);
            foreach (var a in active.ToList())
            {
                var row = registry.Run(grid.Name, a.Run.Key)!;
                if (!a.Process.HasExited)
                {
                    if (row.Status == RunStatus.Running) progress.Progress(row);
                    continue;
                }
                a.Process.WaitForExit();
                int code = a.Process.ExitCode;
                a.Process.Dispose();
                a.Log.Dispose();
                active.Remove(a);
                if (row.Status != RunStatus.Done && row.Status != RunStatus.Failed)
                    registry.Finish(row.Id, RunStatus.Failed, $"the run's process ended with exit code {code} before recording a result (see {a.Log.Path})");
                row = registry.Run(row.Id)!;
                if (row.Status != RunStatus.Done) failed.Add(row.Key);
                progress.Finished(row);
            }
        }
        return failed;
    }

    Process Start(SweepPlan plan, PlannedRun run, int slot, RunLog log)
    {
        var info = new ProcessStartInfo(self.Program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in self.Arguments("sweep", "cell", plan.Grid.File, "--key", run.Key)) info.ArgumentList.Add(a);
        info.Environment[ParentWatch.Variable] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (plan.Grid.Launcher.Parallel > 1 && run.Recipe.Device.StartsWith("cuda", StringComparison.Ordinal))
            info.Environment["CUDA_VISIBLE_DEVICES"] = slot.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {self.Program}");
        process.OutputDataReceived += (_, e) => log.Line(e.Data);
        process.ErrorDataReceived += (_, e) => log.Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        return process;
    }

    /// <summary>A run's console output, appended to its log file as it comes.</summary>
    sealed class RunLog : IDisposable
    {
        readonly StreamWriter _writer;
        bool _closed;
        public string Path { get; }

        public RunLog(string path)
        {
            Path = path;
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            _writer = new StreamWriter(path, append: true) { AutoFlush = true };
        }

        public void Line(string? text)
        {
            if (text is null) return;
            lock (_writer) if (!_closed) _writer.WriteLine(text);
        }

        public void Dispose()
        {
            lock (_writer)
            {
                _closed = true;
                _writer.Dispose();
            }
        }
    }
}
