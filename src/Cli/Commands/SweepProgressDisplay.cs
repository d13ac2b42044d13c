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

    public void Message(string text) => AnsiConsole.MarkupLineInterpolated($"[grey]{text}[/]");

    public void Started(RunRow run, int index, int count) =>
        AnsiConsole.MarkupLineInterpolated($"[bold]({index}/{count}) {run.Kind} {run.Key}[/] -> {run.OutputDir}");

    public void Progress(RunRow run)
    {
        if (run.LastStep == 0 || run.TotalSteps is not { } total) return;
        if (_shown.TryGetValue(run.Id, out var last) && (last.Step == run.LastStep || DateTime.UtcNow - last.At < TimeSpan.FromSeconds(5))) return;
        _shown[run.Id] = (DateTime.UtcNow, run.LastStep);
        AnsiConsole.MarkupLineInterpolated($"  {run.Key}: step {run.LastStep}/{total}  loss {run.LastLoss:0.0000}  {run.Tokens:N0} tokens");
    }

    public void Finished(RunRow run)
    {
        if (run.Status == RunStatus.Done)
            AnsiConsole.MarkupLineInterpolated($"  [green]done[/] {run.Key}: {run.LastStep} steps, {run.WallSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s training, peak {MemoryProbe.Format(run.PeakMemoryBytes ?? 0)}");
        else
            AnsiConsole.MarkupLineInterpolated($"  [red]failed[/] {run.Key}: {run.Error}");
    }
}
