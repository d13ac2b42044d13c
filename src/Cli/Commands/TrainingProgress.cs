using MultiLora.Core.Diagnostics;
using MultiLora.Llava.Training;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>
/// Draws training progress: a live bar (steps, loss, learning rate, tokens/s, memory, ETA) on a terminal,
/// one plain line every few steps when output is redirected (CI logs).
/// </summary>
sealed class TrainingProgress : ITrainingObserver
{
    readonly ProgressContext? _context;
    ProgressTask? _task;
    int _lastPrinted;

    TrainingProgress(ProgressContext? context) => _context = context;

    public static T Run<T>(Func<ITrainingObserver, T> body)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive) return body(new TrainingProgress(null));
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => result = body(new TrainingProgress(ctx)));
        return result;
    }

    public void Started(string description, int totalSteps, long trainableParameters)
    {
        AnsiConsole.MarkupLineInterpolated($"[bold]{description}[/]: {totalSteps} steps, {trainableParameters:N0} trainable parameters");
        _task = _context?.AddTask(description, maxValue: totalSteps);
    }

    public void Step(StepMetrics m)
    {
        string line = $"step {m.Step}/{m.TotalSteps}  loss {m.Loss:0.0000}  lr {m.LearningRate:0.0e+0}  grad {m.GradNorm:0.00}  {m.TokensPerSecond:0} tok/s  {m.SamplesPerSecond:0.0} samples/s  rss {MemoryProbe.Format(m.ResidentBytes)}{(m.AllReducedBytes > 0 ? $"  all-reduce {m.AllReducedBytes / 1024.0:0} KiB/step" : "")}{(m.EvalLoss is { } e ? $"  eval loss {e:0.0000}" : "")}";
        if (_task is not null)
        {
            _task.Description = Markup.Escape(line);
            _task.Value = m.Step;
            return;
        }
        int every = Math.Max(1, m.TotalSteps / 20);
        if (m.Step - _lastPrinted >= every || m.Step == m.TotalSteps || m.Step == 1)
        {
            double eta = m.Step == 0 ? 0 : m.ElapsedSeconds / m.Step * (m.TotalSteps - m.Step);
            Console.WriteLine($"{line}  eta {TimeSpan.FromSeconds(eta):mm\\:ss}");
            _lastPrinted = m.Step;
        }
    }

    public void Message(string text) => AnsiConsole.MarkupLineInterpolated($"[grey]{text}[/]");
}
