using System.Text.RegularExpressions;
using MultiLora.Sweeps.Registry;
using MultiLora.Sweeps.Reporting;

namespace MultiLora.Tests.Sweeps;

public partial class SweepResumeTests
{
    const string Axes = "  model.builtin: [micro]\n  data.text_mix: [0, 0.2]";

    [Fact]
    public void A_sweep_killed_mid_cell_and_run_again_equals_an_uninterrupted_one_except_times()
    {
        using var whole = new SweepTestbed("resume", Axes, steps: 12, saveEvery: 2);
        var (code, output) = whole.Run(null, "sweep", "run", whole.Grid);
        Assert.True(code == 0, output);

        using var killed = new SweepTestbed("resume", Axes, steps: 12, saveEvery: 2);
        string victim;
        using (var sweep = killed.Start(null, "sweep", "run", killed.Grid))
        {
            _ = sweep.StandardOutput.ReadToEndAsync();
            _ = sweep.StandardError.ReadToEndAsync();
            // kill once the first cell is past its step-2 checkpoint and still training
            victim = WaitFor(killed.Registry, rows => rows.FirstOrDefault(r => r.Kind == "cell" && r.Status == RunStatus.Running && r.LastStep >= 3 && r.LastStep < 12), sweep);
            sweep.Kill();   // SIGKILL
            sweep.WaitForExit();
        }
        RunRow interrupted;
        using (var registry = RunRegistry.Open(killed.Registry)) interrupted = registry.Run("resume", victim)!;
        WaitUntilGone(interrupted.Pid!.Value);   // the cell's process follows its sweep
        Assert.Equal(RunStatus.Running, interrupted.Status);   // stored as running, its process gone: interrupted

        (code, output) = killed.Run(null, "sweep", "run", killed.Grid);
        Assert.True(code == 0, output);
        Assert.DoesNotContain("stage1:", output);   // the finished stage-1 run is not run again
        Assert.Contains("resumed from", File.ReadAllText(Directory.GetFiles(Path.Combine(killed.Workspace, "logs"), "*.log")
            .Single(f => File.ReadAllText(f).Contains("checkpoint-2") && File.ReadAllText(f).Contains("resumed from"))));

        Assert.Equal(Snapshot(whole), Snapshot(killed));
    }

    /// <summary>The registry and the report with what may differ between two runs of the same grid removed: times, speeds, memory, paths, pids.</summary>
    static string Snapshot(SweepTestbed bed)
    {
        using var registry = RunRegistry.Open(bed.Registry);
        var lines = new List<string>();
        foreach (var r in registry.Runs("resume"))
        {
            lines.Add(string.Join("|", r.Id, r.Kind, r.Key, string.Join(",", r.Axes), r.Recipe, r.RecipeHash, r.Upstream, Path.GetRelativePath(bed.Root, r.OutputDir),
                r.Status, r.Error, r.Device, r.Devices, r.GitCommit, r.TotalSteps, r.TrainableParams, r.TotalParams, r.Tokens, r.Samples, r.LastStep, r.LastLoss));
            lines.AddRange(registry.Metrics(r.Id).Select(m => $"  {m.Step} {m.Loss:R} {m.LearningRate:R} {m.GradNorm:R} {m.Tokens} {m.Samples} {m.EvalLoss}"));
            lines.AddRange(registry.Evals(r.Id).Select(e => $"  {e.Task} {e.Metric} {e.Value:R}"));
        }
        string report = Path.Combine(bed.Root, "report");
        var files = SweepReport.Write(registry, "resume", report);
        foreach (var f in files.Where(f => !f.EndsWith(".png") && !Path.GetFileName(f).StartsWith("score-vs-cost")))
            lines.Add(Path.GetFileName(f) + "\n" + MaskReport(File.ReadAllText(f)).Replace(bed.Root, "ROOT"));
        return string.Join("\n", lines);
    }

    /// <summary>report.md's cost columns (device-h, samples/s, peak MiB; the shared runs' device-h and peak MiB) hold measured times and memory.</summary>
    static string MaskReport(string text) => SharedCost().Replace(CostColumns().Replace(text, "| $1 | T | T | M |"), "| $1 | T | M |");

    [GeneratedRegex(@"\| ([\d,]+) \| [\d.]+ \| [\d.]+ \| \d+ \|")]
    private static partial Regex CostColumns();

    [GeneratedRegex(@"\| (done|failed) \| [\d.]+ \| \d* \|")]
    private static partial Regex SharedCost();

    static string WaitFor(string db, Func<List<RunRow>, RunRow?> ready, System.Diagnostics.Process sweep)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(8))
        {
            Assert.False(sweep.HasExited, "the sweep finished before it could be interrupted");
            if (File.Exists(db))
            {
                using var registry = RunRegistry.Open(db);
                if (ready(registry.Runs("resume")) is { } row) return row.Key;
            }
            Thread.Sleep(50);
        }
        throw new TimeoutException("no cell reached its second checkpoint");
    }

    static void WaitUntilGone(int pid)
    {
        for (int i = 0; i < 200; i++)
        {
            try { using var p = System.Diagnostics.Process.GetProcessById(pid); if (p.HasExited) return; }
            catch (ArgumentException) { return; }
            Thread.Sleep(50);
        }
        throw new TimeoutException($"the cell's process {pid} outlived its killed sweep");
    }
}
