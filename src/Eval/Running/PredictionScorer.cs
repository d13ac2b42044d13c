using System.Text.Json;
using MultiLora.Eval.Judge;
using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring;
using MultiLora.Eval.Tasks;

namespace MultiLora.Eval.Running;

/// <summary>
/// Options of `eval score`. <see cref="Output"/>: a folder (results.json, results.md, samples/task.jsonl) or a .json
/// path (results there, .md and .samples.jsonl beside it). <see cref="AllowPartial"/>: score a file whose ids do not
/// match the questions one to one (warnings and the coverage figure say what was left out) instead of refusing it.
/// <see cref="Judge"/> is used as given (tests); else <see cref="JudgeOptions"/> builds the HTTP judge.
/// </summary>
public sealed record ScoreOptions(
    string? Output = null,
    JudgeOptions? JudgeOptions = null,
    IJudge? Judge = null,
    string? DataRoot = null,
    bool AllowPartial = false);

/// <summary>
/// `eval score`: scores an answer file written elsewhere (LLaVA's model_vqa*.py JSONL: question_id, prompt, text,
/// answer_id, model_id, metadata) against a task's data file in its official format, with the task's scorer.
/// Rows are matched to questions as the reference script matches them (<see cref="AnswerJoin"/>); answers that match
/// no question, questions answered twice and required questions left unanswered are a one-line error naming the first
/// ids, unless <see cref="ScoreOptions.AllowPartial"/>.
/// </summary>
public static class PredictionScorer
{
    public static RunResults Score(TaskDefinition task, string dataFile, string predictionsFile, ScoreOptions? options = null, CancellationToken ct = default)
    {
        options ??= new ScoreOptions();
        var started = DateTimeOffset.UtcNow;
        var samples = SampleReader.Read(task, options.DataRoot ?? Path.GetDirectoryName(Path.GetFullPath(dataFile))!, dataFile);
        var rows = AnswerFile.Read(predictionsFile);
        using var client = options.Judge is null && options.JudgeOptions is { } jo ? new JudgeClient(jo) : null;
        IJudge? judge = options.Judge ?? client;
        var scorer = ScorerFactory.Create(task, judge);
        var join = AnswerJoin.Match(task, samples, rows, scorer.Duplicates);
        var warnings = new List<string>();
        if (join.Problem is { } problem)
        {
            if (!options.AllowPartial)
                throw new InvalidDataException($"{predictionsFile}: {problem} (task '{task.Name}', {dataFile}); nothing was scored; " +
                                               "pass --allow-partial to score the answers that match (coverage is reported)");
            warnings.Add(problem);
        }

        var answered = join.Answers.ToDictionary(a => a.Sample.Id, a => a.Rows);
        var records = new List<SampleRecord>();
        foreach (var s in samples)
        {
            ct.ThrowIfCancellationRequested();
            var prompt = PromptTemplate.Render(task, s);
            if (answered.TryGetValue(s.Id, out var mine))
                records.AddRange(mine.Select(row => RecordBuilder.Scored(task, scorer, s, prompt, new Prediction(row.Text, row.Prompt, row.Line), ct)));
            else records.Add(RecordBuilder.Failed(task, scorer, s, prompt, $"no answer in {Path.GetFileName(predictionsFile)}"));
        }
        var result = new TaskResult(task.Name, Scoring.Metrics.Select(scorer.Aggregate(records), task.Metrics), scorer.Scoring, 0,
            task.Scorer, task.Reproduces ?? [], warnings);
        var run = new RunResults($"predictions {Path.GetFileName(predictionsFile)}", null, null, started, DateTimeOffset.UtcNow, 0,
            new Dictionary<string, string> { ["data"] = dataFile, ["predictions"] = predictionsFile }, judge?.Describe, [result]);
        if (options.Output is { } output) Write(run, records, task, output);
        return run;
    }

    static void Write(RunResults run, List<SampleRecord> records, TaskDefinition task, string output)
    {
        string samplesPath;
        if (output.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            run.WriteTo(output, Path.ChangeExtension(output, ".md"));
            samplesPath = Path.ChangeExtension(output, ".samples.jsonl");
        }
        else
        {
            run.Write(output);
            samplesPath = Path.Combine(output, EvalRunOptions.SamplesFolder, task.Name + ".jsonl");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(samplesPath))!);
        File.WriteAllLines(samplesPath, records.Select(r => JsonSerializer.Serialize(r, SampleLog.Json)));
    }
}
