using System.CommandLine;
using System.Globalization;
using MultiLora.Eval.Judge;
using MultiLora.Eval.Running;
using MultiLora.Llava.Evaluation;
using MultiLora.Llava.Sessions;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>`multilora eval --model DIR --tasks a,b --data-root D`: runs the harness on a model (the parent command's own action).</summary>
static class EvalRunAction
{
    public static void AddTo(Command eval)
    {
        var model = new ModelOptions(quantizable: true);
        var tasks = new Option<string>("--tasks") { Description = "Comma-separated task names (see `multilora eval tasks`)." };
        var dataRoot = new Option<string>("--data-root") { Description = "Folder holding the tasks' data files.", DefaultValueFactory = _ => "." };
        var output = new Option<string>("--out") { Description = "Run folder (results.json, results.md, samples/); re-running resumes.", DefaultValueFactory = _ => Path.Combine("runs", "eval") };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N questions of each task (smoke runs)." };
        var batch = new Option<int>("--batch-size") { Description = "Prompts generated together.", DefaultValueFactory = _ => 8 };
        var taskFiles = new Option<string[]>("--task-file") { Description = "Extra task YAML files or folders.", AllowMultipleArgumentsPerToken = true };
        model.AddTo(eval);
        foreach (var o in new Option[] { tasks, dataRoot, output, limit, batch, taskFiles }) eval.Options.Add(o);
        eval.SetAction(p =>
        {
            string names = p.GetValue(tasks) ?? throw new ArgumentException("--tasks is required to run an evaluation (e.g. --tasks pope,mmbench)");
            var sessionOptions = model.Read(p);
            using var session = AnsiConsole.Status().Start("loading model...", _ => LlavaSession.Open(sessionOptions));
            var outDir = p.GetValue(output)!;
            var options = new EvalRunOptions(
                names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                p.GetValue(dataRoot)!, outDir, p.GetValue(taskFiles), p.GetValue(limit), p.GetValue(batch),
                JudgeOptions.FromEnvironment(Path.Combine(outDir, EvalRunOptions.JudgeCacheFolder)),
                sessionOptions.Source.AdapterDir,
                new Dictionary<string, string> { ["template"] = session.Template.Name, ["dtype"] = sessionOptions.DType, ["device"] = sessionOptions.Device,
                    ["quantize"] = sessionOptions.Quantize is { } q ? q.Type.ToString().ToLowerInvariant() : "none" });
            var results = EvalProgressDisplay.Run(options, o => EvalRunner.Run(new LlavaEvalModel(session, sessionOptions.Source.ToString()), o));
            var table = new Table().AddColumns("task", "metric", "value");
            foreach (var t in results.Tasks)
                foreach (var (k, v) in t.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    table.AddRow(Markup.Escape(t.Task), Markup.Escape(k), v.ToString("0.##", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"results: {Path.Combine(outDir, EvalRunOptions.ResultsFile)}");
            return 0;
        });
    }
}

/// <summary>A Spectre progress bar per task, fed by the runner's progress callback.</summary>
static class EvalProgressDisplay
{
    public static RunResults Run(EvalRunOptions options, Func<EvalRunOptions, RunResults> run)
    {
        RunResults? results = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                var progress = new SynchronousProgress<EvalProgress>(e =>
                {
                    if (!bars.TryGetValue(e.Task, out var bar)) bars[e.Task] = bar = ctx.AddTask(e.Task, maxValue: Math.Max(1, e.Total));
                    bar.MaxValue = Math.Max(1, e.Total);
                    bar.Value = e.Done;
                    bar.Description = $"{e.Task} ({e.Done}/{e.Total}, {e.Failed} failed, {e.SamplesPerSecond:0.0}/s)";
                });
                results = run(options with { Progress = progress });
            });
        return results!;
    }

    sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
