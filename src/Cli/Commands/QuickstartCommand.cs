using System.CommandLine;
using System.Globalization;
using MultiLora.Core.Diagnostics;
using MultiLora.Eval.Running;
using MultiLora.Llava.Quickstart;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>`multilora quickstart`: the whole workflow on built-in synthetic data, no downloads, a before/after table at the end.</summary>
static class QuickstartCommand
{
    public static Command Create()
    {
        var defaults = new QuickstartOptions();
        var output = new Option<string>("--out") { Description = "Run folder.", DefaultValueFactory = _ => defaults.OutputDir };
        var method = new Option<string>("--method") { Description = "Stage-2 method: qlora, lora or full.", DefaultValueFactory = _ => "qlora" };
        var seed = new Option<int>("--seed") { Description = "Seed for data, initialisation and training.", DefaultValueFactory = _ => defaults.Seed };
        var stage2Steps = new Option<int>("--stage2-steps") { Description = "Optimizer steps of stage 2.", DefaultValueFactory = _ => defaults.Stage2Steps };
        var cmd = new Command("quickstart", "Synthetic data -> small LLaVA -> stage 1 -> stage 2 (QLoRA) -> evaluation before/after, on the CPU, no downloads.");
        foreach (var o in new Option[] { output, method, seed, stage2Steps }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            var options = defaults with
            {
                OutputDir = p.GetValue(output)!,
                Method = p.GetValue(method) switch
                {
                    "qlora" => TrainMethod.Qlora,
                    "lora" => TrainMethod.Lora,
                    "full" => TrainMethod.Full,
                    var m => throw new ArgumentException($"--method {m}: expected qlora, lora or full"),
                },
                Seed = p.GetValue(seed),
                Stage2Steps = p.GetValue(stage2Steps),
            };
            var report = QuickstartRunner.Run(options, new ConsoleHost());
            Print(report);
            return 0;
        });
        return cmd;
    }

    static void Print(QuickstartReport report)
    {
        var table = new Table().Title("synthetic eval, before and after training").AddColumns("task", "metric", "before", "after", "chance");
        foreach (var (task, metric, before, after) in report.Metrics)
            table.AddRow(task, metric, before.ToString("0.0", CultureInfo.InvariantCulture), after.ToString("0.0", CultureInfo.InvariantCulture),
                Chance(task, metric));
        AnsiConsole.Write(table);
        var phases = new Table().AddColumns("phase", "seconds", "result");
        foreach (var phase in report.Phases) phases.AddRow(Markup.Escape(phase.Name), phase.Seconds.ToString("0.0", CultureInfo.InvariantCulture), Markup.Escape(phase.Detail));
        phases.AddRow("[bold]total[/]", report.Phases.Sum(x => x.Seconds).ToString("0.0", CultureInfo.InvariantCulture), $"peak RSS {MemoryProbe.Format(report.PeakResidentBytes)}");
        AnsiConsole.Write(phases);
        AnsiConsole.MarkupLineInterpolated($"outputs in {report.OutputDir}");
    }

    /// <summary>What guessing scores: POPE is balanced yes/no, MMBench has 4 options, the open questions have 4 colours/4 shapes/2 counts.</summary>
    static string Chance(string task, string metric) => (task, metric) switch
    {
        ("synth_pope", "accuracy") => "50",
        ("synth_mmbench", "accuracy") => "25",
        ("synth_vqa", "exact_match") => "~33",
        _ => "",
    };

    sealed class ConsoleHost : QuickstartRunner.IHost
    {
        public T Train<T>(Func<ITrainingObserver, T> run) => TrainingProgress.Run(run);
        public RunResults Evaluate(EvalRunOptions options, Func<EvalRunOptions, RunResults> run) => EvalProgressDisplay.Run(options, run);
        public void Phase(string text) => AnsiConsole.Write(new Rule($"[bold]{Markup.Escape(text)}[/]").LeftJustified());
    }
}
