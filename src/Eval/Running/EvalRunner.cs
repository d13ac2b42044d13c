using System.Diagnostics;
using System.Globalization;
using MultiLora.Eval.Judge;
using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring;
using MultiLora.Eval.Tasks;
using MultiLora.Eval.Text;

namespace MultiLora.Eval.Running;

/// <summary>
/// Runs tasks against a model: reads each task's official files, renders prompts, generates in batches, scores
/// each sample as it finishes and appends it to samples/&lt;task&gt;.jsonl (so a re-run with the same output folder
/// skips it), then aggregates from the logged records and writes results.json and results.md.
/// A sample whose image is bad, whose generation throws, or whose scoring fails is recorded as failed with its
/// reason and counted; when a whole batch throws, its samples are retried one by one to find the culprit.
/// </summary>
public static class EvalRunner
{
    public static RunResults Run(IEvalModel model, EvalRunOptions options, CancellationToken ct = default)
    {
        if (options.BatchSize <= 0) throw new ArgumentException($"batch size must be positive, got {options.BatchSize}");
        if (options.Limit is <= 0) throw new ArgumentException($"--limit must be positive, got {options.Limit}");
        var catalog = TaskCatalog.Load(options.TaskPaths);
        var tasks = options.Tasks.Select(catalog.Get).ToList(); // unknown names fail before any generation
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var judgeOptions = options.Judge is null ? null
            : options.Judge with { CacheDir = options.Judge.CacheDir ?? Path.Combine(options.OutputDir, EvalRunOptions.JudgeCacheFolder) };
        using var judge = judgeOptions is null ? null : new JudgeClient(judgeOptions);

        var results = new List<TaskResult>();
        var generated = 0;
        foreach (var task in tasks)
        {
            var r = RunTask(model, task, options, judge, ct);
            generated += r.Generated;
            results.Add(r);
        }
        var run = new RunResults(model.Describe, options.Adapter, GitInfo.Commit(Directory.GetCurrentDirectory()), started, DateTimeOffset.UtcNow,
            generated / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), BuildConfig(options), judge?.Describe, results);
        run.Write(options.OutputDir);
        return run;
    }

    static TaskResult RunTask(IEvalModel model, TaskDefinition task, EvalRunOptions options, JudgeClient? judge, CancellationToken ct)
    {
        // Optional samples (outside the task's required set, e.g. ScienceQA problems without an image) are not asked.
        var samples = SampleReader.Read(task, options.DataRoot, limit: options.Limit).Where(s => !s.Optional).ToList();
        var scorer = ScorerFactory.Create(task, judge);
        var logPath = Path.Combine(options.OutputDir, EvalRunOptions.SamplesFolder, task.Name + ".jsonl");
        using var log = SampleLog.Open(logPath);
        var records = new Dictionary<string, SampleRecord>();
        foreach (var r in log.Existing) records[r.Id] = r;
        var pending = samples.Where(s => !records.ContainsKey(s.Id)).ToList();

        var clock = Stopwatch.StartNew();
        var thisRun = 0;
        var failed = samples.Count(s => records.TryGetValue(s.Id, out var x) && !x.IsOk);
        void Record(SampleRecord r)
        {
            log.Append(r);
            records[r.Id] = r;
            thisRun++;
            if (!r.IsOk) failed++;
            var rate = thisRun / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            var left = pending.Count - thisRun;
            options.Progress?.Report(new EvalProgress(task.Name, samples.Count - left, samples.Count,
                failed, rate, rate > 0 ? TimeSpan.FromSeconds(left / rate) : null));
        }

        foreach (var batch in pending.Chunk(options.BatchSize))
        {
            ct.ThrowIfCancellationRequested();
            var ready = new List<(EvalSample Sample, string Prompt)>();
            foreach (var s in batch)
            {
                var prompt = PromptTemplate.Render(task, s);
                if (ImageCheck.Problem(s.Image, options.ValidateImages) is { } problem) Record(RecordBuilder.Failed(task, scorer, s, prompt, problem));
                else ready.Add((s, prompt));
            }
            foreach (var (sample, prompt, reply, error) in Generate(model, task, ready, ct))
                Record(error is null
                    // LLaVA's model_vqa*.py write outputs .strip()ped; the reference scripts then read them as written.
                    ? RecordBuilder.Scored(task, scorer, sample, prompt, new Prediction(PyStr.Strip(reply!)), ct)
                    : RecordBuilder.Failed(task, scorer, sample, prompt, error));
        }

        var ordered = samples.Select(s => records[s.Id]).ToList();
        return new TaskResult(task.Name, Scoring.Metrics.Select(scorer.Aggregate(ordered), task.Metrics), scorer.Scoring, thisRun,
            task.Scorer, task.Reproduces ?? []);
    }

    /// <summary>One reply or one error per sample; a failing batch is split into single samples so one bad sample fails alone.</summary>
    static IEnumerable<(EvalSample Sample, string Prompt, string? Reply, string? Error)> Generate(
        IEvalModel model, TaskDefinition task, List<(EvalSample Sample, string Prompt)> items, CancellationToken ct)
    {
        if (items.Count == 0) return [];
        var requests = items.Select(i => new EvalRequest(i.Sample.Id, i.Prompt, i.Sample.Image, task.MaxNewTokens)).ToList();
        try
        {
            var replies = model.Generate(requests, ct);
            if (replies.Count != requests.Count)
                throw new InvalidOperationException($"model returned {replies.Count} replies for {requests.Count} requests");
            return items.Select((i, k) => (i.Sample, i.Prompt, (string?)replies[k], (string?)null)).ToList();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (items.Count == 1) return [(items[0].Sample, items[0].Prompt, null, $"generation failed: {e.GetType().Name}: {e.Message}")];
            return items.SelectMany(i => Generate(model, task, [i], ct)).ToList();
        }
    }

    static Dictionary<string, string> BuildConfig(EvalRunOptions o)
    {
        var config = new Dictionary<string, string>
        {
            ["tasks"] = string.Join(",", o.Tasks),
            ["data_root"] = o.DataRoot,
            ["batch_size"] = o.BatchSize.ToString(CultureInfo.InvariantCulture),
        };
        if (o.Limit is { } limit) config["limit"] = limit.ToString(CultureInfo.InvariantCulture);
        foreach (var (k, v) in o.Config ?? new Dictionary<string, string>()) config[k] = v;
        return config;
    }
}
