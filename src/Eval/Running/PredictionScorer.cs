using System.Globalization;
using System.Text.Json;
using MultiLora.Eval.Judge;
using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring;
using MultiLora.Eval.Tasks;

namespace MultiLora.Eval.Running;

/// <summary>
/// `eval score`: scores predictions made elsewhere (LLaVA answer-file JSONL: question_id, text) against a task's
/// data file in its official format, with the same scorers as a run. A "round_id" field (LLaVA's MMBench
/// all-rounds answers) maps to the rotation id question_id + round_id x 1e6. A sample without a prediction is a
/// failed sample ("no prediction"). <c>output</c>: a folder (results.json, results.md, samples/task.jsonl) or a
/// .json path (results there, .md and .samples.jsonl beside it).
/// </summary>
public static class PredictionScorer
{
    public static RunResults Score(TaskDefinition task, string dataFile, string predictionsFile, string? output = null,
                                   JudgeOptions? judgeOptions = null, string? dataRoot = null, CancellationToken ct = default)
    {
        var started = DateTimeOffset.UtcNow;
        var samples = SampleReader.Read(task, dataRoot ?? Path.GetDirectoryName(Path.GetFullPath(dataFile))!, dataFile);
        var predictions = ReadPredictions(predictionsFile);
        using var judge = judgeOptions is null ? null : new JudgeClient(judgeOptions);
        var scorer = ScorerFactory.Create(task, judge);
        var records = samples.Select(s =>
        {
            var prompt = PromptTemplate.Render(task, s);
            return predictions.TryGetValue(s.Id, out var text)
                ? RecordBuilder.Scored(task, scorer, s, prompt, text, ct)
                : RecordBuilder.Failed(task, scorer, s, prompt, $"no prediction for this sample in {predictionsFile}");
        }).ToList();
        var result = new TaskResult(task.Name, Scoring.Metrics.Select(scorer.Aggregate(records), task.Metrics), scorer.Scoring, 0);
        var run = new RunResults($"predictions {Path.GetFileName(predictionsFile)}", null, null, started, DateTimeOffset.UtcNow, 0,
            new Dictionary<string, string> { ["data"] = dataFile, ["predictions"] = predictionsFile }, judge?.Describe, [result]);
        if (output is not null)
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
        return run;
    }

    public static Dictionary<string, string> ReadPredictions(string path)
    {
        var map = new Dictionary<string, string>();
        foreach (var (row, line) in JsonFiles.ReadJsonl(path))
        {
            var where = $"{path}:{line}";
            var id = JsonFiles.Id(row, "question_id", where);
            if (JsonFiles.OptStr(row, "round_id") is { } round && round != "0")
            {
                if (!long.TryParse(id, out var q) || !long.TryParse(round, out var r))
                    throw new InvalidDataException($"{where}: question_id and round_id must be integers when round_id is given");
                id = (q + r * MmbenchTsvReader.CircularStride).ToString(CultureInfo.InvariantCulture);
            }
            if (!map.TryAdd(id, JsonFiles.Str(row, "text", where)))
                throw new InvalidDataException($"{where}: a second prediction for question_id {id}");
        }
        return map;
    }
}
