using System.CommandLine;
using System.Globalization;
using MultiLora.Eval.Endpoint;
using MultiLora.Eval.Judge;
using MultiLora.Eval.Running;
using MultiLora.Llava.Evaluation;
using MultiLora.Llava.Sessions;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>
/// `multilora eval --model DIR --tasks a,b --data-root D`: runs the harness on a model (the parent command's own action);
/// with `--endpoint URL --endpoint-model NAME` on any OpenAI-compatible server instead of a model loaded here.
/// </summary>
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
        var endpoint = new Option<string?>("--endpoint") { Description = "Evaluate an OpenAI-compatible server instead of a local model: its base URL (e.g. http://127.0.0.1:8000/v1)." };
        var endpointModel = new Option<string?>("--endpoint-model") { Description = "With --endpoint: the model id to request (see the server's /v1/models)." };
        var apiKey = new Option<string?>("--api-key") { Description = "With --endpoint: the server's API key (default: the OPENAI_API_KEY environment variable)." };
        var concurrency = new Option<int>("--concurrency") { Description = "With --endpoint: requests in flight at once.", DefaultValueFactory = _ => EndpointEvalModel.DefaultConcurrency };
        model.AddTo(eval);
        foreach (var o in new Option[] { tasks, dataRoot, output, limit, batch, taskFiles, endpoint, endpointModel, apiKey, concurrency }) eval.Options.Add(o);
        eval.SetAction(p =>
        {
            string names = p.GetValue(tasks) ?? throw new ArgumentException("--tasks is required to run an evaluation (e.g. --tasks pope,mmbench)");
            if (p.GetValue(endpoint) is { } url)
                return RunEndpoint(p, url, p.GetValue(endpointModel) ?? throw new ArgumentException("--endpoint needs --endpoint-model NAME (the model id the server serves)"),
                    p.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY"), p.GetValue(concurrency), names, dataRoot, output, limit, batch, taskFiles);
            if (p.GetValue(endpointModel) is not null) throw new ArgumentException("--endpoint-model needs --endpoint URL");
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
            Report(results, outDir);
            return 0;
        });
    }

    static int RunEndpoint(ParseResult p, string url, string modelId, string? key, int concurrency, string names,
        Option<string> dataRoot, Option<string> output, Option<int?> limit, Option<int> batch, Option<string[]> taskFiles)
    {
        if (p.GetValue<string?>("--model") is not null || p.GetValue<string?>("--vision") is not null)
            throw new ArgumentException("give either --endpoint URL or a local model (--model / --vision + --language), not both");
        if (concurrency < 1) throw new ArgumentException($"--concurrency must be at least 1, got {concurrency}");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new ArgumentException($"--endpoint '{url}': expected an http(s) URL such as http://127.0.0.1:8000/v1");
        var outDir = p.GetValue(output)!;
        var endpoint = new ChatEndpoint(url, key, EndpointEvalModel.DefaultTimeout, JudgeOptions.DefaultMaxAttempts, JudgeOptions.DefaultBackoff);
        using var model = new EndpointEvalModel(endpoint, modelId, concurrency);
        // a batch is what is in flight at once: at least the concurrency
        var options = new EvalRunOptions(
            names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            p.GetValue(dataRoot)!, outDir, p.GetValue(taskFiles), p.GetValue(limit), Math.Max(p.GetValue(batch), concurrency),
            JudgeOptions.FromEnvironment(Path.Combine(outDir, EvalRunOptions.JudgeCacheFolder)),
            Adapter: null,
            new Dictionary<string, string> { ["endpoint"] = url, ["endpoint_model"] = modelId, ["concurrency"] = concurrency.ToString(CultureInfo.InvariantCulture) });
        Report(EvalProgressDisplay.Run(options, o => EvalRunner.Run(model, o)), outDir);
        return 0;
    }

    static void Report(RunResults results, string outDir)
    {
        var table = new Table().AddColumns("task", "metric", "value");
        foreach (var t in results.Tasks)
            foreach (var (k, v) in t.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                table.AddRow(Markup.Escape(t.Task), Markup.Escape(k), v.ToString("0.##", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"results: {Path.Combine(outDir, EvalRunOptions.ResultsFile)}");
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
