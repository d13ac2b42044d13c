using MultiLora.Eval.Judge;

namespace MultiLora.Eval.Running;

/// <summary>
/// Everything a run needs besides the model. <see cref="OutputDir"/> is the run folder: re-running with the
/// same folder resumes (samples already in its per-sample logs are skipped).
/// </summary>
public sealed record EvalRunOptions(
    IReadOnlyList<string> Tasks,
    string DataRoot,
    string OutputDir,
    IReadOnlyList<string>? TaskPaths = null,
    int? Limit = null,
    int BatchSize = 8,
    JudgeOptions? Judge = null,
    string? Adapter = null,
    IReadOnlyDictionary<string, string>? Config = null,
    bool ValidateImages = true,
    IProgress<EvalProgress>? Progress = null)
{
    public const string ResultsFile = "results.json";
    public const string MarkdownFile = "results.md";
    public const string SamplesFolder = "samples";
    public const string JudgeCacheFolder = "judge-cache";
}

/// <summary>Progress of one task: samples finished (this run and before), total, failed, speed and ETA of this run.</summary>
public sealed record EvalProgress(string Task, int Done, int Total, int Failed, double SamplesPerSecond, TimeSpan? Eta);
