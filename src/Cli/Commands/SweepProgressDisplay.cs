using System.Globalization;
using MultiLora.Core.Diagnostics;
using MultiLora.Sweeps.Launchers;
using MultiLora.Sweeps.Registry;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>
/// A sweep's progress on the console: a line when a run starts and ends (with its scores or error), and each
/// running run's step, loss, throughput and ETA, read back from the registry (at most every 5 s per run).
/// </summary>
sealed class SweepProgressDisplay : ISweepProgress
{
    readonly Dictionary<long, (DateTime At, int Step)> _shown = [];
    readonly Dictionary<long, (DateTime At, int Step, long Tokens)> _first = [];

    public void Message(string text) => AnsiConsole.MarkupLineInterpolated($"[grey]{text}[/]");

    public void Started(RunRow run, int index, int count) =>
        AnsiConsole.MarkupLineInterpolated($"[bold]({index}/{count}) {run.Kind} {run.Key}[/] -> {run.OutputDir}");

    public void Progress(RunRow run)
    {
        if (run.LastStep == 0 || run.TotalSteps is not { } total) return;
        var now = DateTime.UtcNow;
        if (!_first.TryGetValue(run.Id, out var first)) _first[run.Id] = first = (now, run.LastStep, run.Tokens);
        if (_shown.TryGetValue(run.Id, out var last) && (last.Step == run.LastStep || now - last.At < TimeSpan.FromSeconds(5))) return;
        _shown[run.Id] = (now, run.LastStep);
        // speed and ETA over what this display has watched (the run may have resumed, or started before)
        double seconds = (now - first.At).TotalSeconds;
        int steps = run.LastStep - first.Step;
        string speed = steps > 0 && seconds > 0 ? $"  {(run.Tokens - first.Tokens) / seconds:0} tok/s  eta {TimeSpan.FromSeconds(seconds / steps * (total - run.LastStep)):mm\\:ss}" : "";
        AnsiConsole.MarkupLineInterpolated($"  {run.Key}: step {run.LastStep}/{total}  loss {run.LastLoss:0.0000}{speed}");
    }

    public void Finished(RunRow run)
    {
        if (run.Status == RunStatus.Done)
            AnsiConsole.MarkupLineInterpolated($"  [green]done[/] {run.Key}: {run.LastStep} steps, {run.WallSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s training, peak {MemoryProbe.Format(run.PeakMemoryBytes ?? 0)}");
        else
            AnsiConsole.MarkupLineInterpolated($"  [red]failed[/] {run.Key}: {run.Error}");
    }
}
