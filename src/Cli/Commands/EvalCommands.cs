using System.CommandLine;
using System.Globalization;
using MultiLora.Eval.Judge;
using MultiLora.Eval.Running;
using MultiLora.Eval.Tasks;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>
/// `multilora eval`: `score` (predictions made elsewhere against a task's official data file), `compare`
/// (per-task, per-metric deltas of two runs) and `tasks` (the task catalog); running a model is the parent
/// command's own action (<see cref="EvalRunAction"/>). Bad input becomes one line through CliApp.Run.
/// </summary>
static class EvalCommands
{
    public static Command Create()
    {
        var eval = new Command("eval", "Benchmarks: run, score and compare (MMBench, POPE, ScienceQA-IMG, TextVQA, VQAv2, VizWiz, GQA, LLaVA-Bench, MM-Vet).");
        eval.Subcommands.Add(Score());
        eval.Subcommands.Add(Compare());
        eval.Subcommands.Add(Tasks());
        EvalRunAction.AddTo(eval);
        return eval;
    }

    static Option<string[]> TaskPathsOption() => new("--task-file")
    {
        Description = "Extra task YAML files or folders (a task with a built-in's name replaces it).",
        AllowMultipleArgumentsPerToken = true,
    };

    static Command Score()
    {
        var task = new Option<string>("--task") { Description = "Task name (see `multilora eval tasks`).", Required = true };
        var data = new Option<string>("--data") { Description = "The task's data file in its official format (POPE question JSONL, TextVQA/VQA JSON, MMBench TSV, ...).", Required = true };
        var predictions = new Option<string>("--predictions") { Description = "Answer file JSONL as LLaVA's model_vqa*.py write it (question_id, prompt, text, ...).", Required = true };
        var output = new Option<string?>("--out") { Description = "results.json path, or a folder for results.json, results.md and samples/." };
        var allowPartial = new Option<bool>("--allow-partial")
        {
            Description = "Score a file whose answers do not match the questions one to one (unknown ids, duplicates, missing answers): warn and report coverage instead of refusing.",
        };
        var taskPaths = TaskPathsOption();
        var cmd = new Command("score", "Score an answer file made elsewhere the way the task's reference script does.");
        foreach (var o in new Option[] { task, data, predictions, output, allowPartial, taskPaths }) cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            var definition = TaskCatalog.Load(parse.GetValue(taskPaths)).Get(parse.GetValue(task)!);
            var outPath = parse.GetValue(output);
            var cacheDir = Path.Combine(outPath is null ? Directory.GetCurrentDirectory() : (outPath.EndsWith(".json") ? Path.GetDirectoryName(Path.GetFullPath(outPath))! : outPath), EvalRunOptions.JudgeCacheFolder);
            var run = PredictionScorer.Score(definition, parse.GetValue(data)!, parse.GetValue(predictions)!,
                new ScoreOptions(outPath, JudgeOptions.FromEnvironment(cacheDir), AllowPartial: parse.GetValue(allowPartial)));
            var table = new Table().AddColumns("task", "metric", "value");
            foreach (var t in run.Tasks)
                foreach (var (k, v) in t.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    table.AddRow(Markup.Escape(t.Task), Markup.Escape(k), v.ToString("0.##", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            foreach (var t in run.Tasks)
            {
                AnsiConsole.MarkupLineInterpolated($"[grey]{t.Task}: {t.Scoring}[/]");
                AnsiConsole.MarkupLineInterpolated($"[grey]coverage: {t.Answered}/{t.Total} answered; reproduces {string.Join("; ", (t.Reproduces ?? []).Select(r => r.ToString()))}[/]");
                foreach (var w in t.Warnings ?? []) AnsiConsole.MarkupLineInterpolated($"[yellow]warning: {w}[/]");
            }
            if (outPath is not null) AnsiConsole.MarkupLineInterpolated($"written: {outPath}");
            return 0;
        });
        return cmd;
    }

    static Command Compare()
    {
        var a = new Argument<string>("RUN_A") { Description = "Run folder or results.json (baseline)." };
        var b = new Argument<string>("RUN_B") { Description = "Run folder or results.json (compared)." };
        var cmd = new Command("compare", "Per-task, per-metric deltas between two runs (B - A).");
        cmd.Arguments.Add(a);
        cmd.Arguments.Add(b);
        cmd.SetAction(parse =>
        {
            var table = new Table().AddColumns("task", "metric", "A", "B", "delta");
            static string F(double? v) => v?.ToString("0.##", CultureInfo.InvariantCulture) ?? "-";
            foreach (var d in RunComparer.Compare(parse.GetValue(a)!, parse.GetValue(b)!))
            {
                var delta = d.Delta is { } x ? (x > 0 ? $"[green]+{F(x)}[/]" : x < 0 ? $"[red]{F(x)}[/]" : "0") : "-";
                table.AddRow(Markup.Escape(d.Task), Markup.Escape(d.Metric), F(d.A), F(d.B), delta);
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }

    static Command Tasks()
    {
        var taskPaths = TaskPathsOption();
        var cmd = new Command("tasks", "List the benchmark tasks (built-in and from --task-file).");
        cmd.Options.Add(taskPaths);
        cmd.SetAction(parse =>
        {
            var table = new Table().AddColumns("task", "format", "data", "scorer", "metrics", "max new tokens", "reproduces", "from");
            foreach (var t in TaskCatalog.Load(parse.GetValue(taskPaths)).All.OrderBy(t => t.Name, StringComparer.Ordinal))
                table.AddRow(Markup.Escape(t.Name), t.Format, Markup.Escape(t.Data), t.Scorer, string.Join(", ", t.Metrics),
                    t.MaxNewTokens.ToString(CultureInfo.InvariantCulture), Markup.Escape(string.Join("; ", (t.Reproduces ?? []).Select(r => r.ToString()))),
                    Markup.Escape(t.Origin));
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }
}
