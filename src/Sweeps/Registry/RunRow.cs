namespace MultiLora.Sweeps.Registry;

/// <summary>Run states as stored. "interrupted" is not stored: it is a running row whose process or job is gone.</summary>
public static class RunStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Done = "done";
    public const string Failed = "failed";
    public const string Interrupted = "interrupted";
}

/// <summary>One row of the runs table with the totals of its metrics (tokens, samples, last step and loss).</summary>
public sealed record RunRow(
    long Id,
    string Sweep,
    string Kind,
    string Key,
    IReadOnlyList<KeyValuePair<string, string>> Axes,
    string Recipe,
    string RecipeHash,
    string? Upstream,
    string OutputDir,
    string Status,
    string? Error,
    string? Host,
    int? Pid,
    string? Device,
    int Devices,
    string? GitCommit,
    string? SlurmJob,
    string? StartedUtc,
    string? FinishedUtc,
    int? TotalSteps,
    double WallSeconds,
    double EvalSeconds,
    long? PeakMemoryBytes,
    long? TrainableParams,
    long? TotalParams,
    long Tokens,
    long Samples,
    int LastStep,
    double? LastLoss)
{
    public double DeviceHours => WallSeconds * Devices / 3600.0;
    public double SamplesPerSecond => WallSeconds > 0 ? Samples / WallSeconds : 0;
}

/// <summary>One training step as stored.</summary>
public sealed record MetricRow(int Step, double Loss, double LearningRate, double GradNorm, long Tokens, long Samples, double TokensPerSecond, double SamplesPerSecond, double ElapsedSeconds, double? EvalLoss);

/// <summary>One score as stored.</summary>
public sealed record EvalRow(string Task, string Metric, double Value);

/// <summary>What a `sweep run` was started from: the report's header.</summary>
public sealed record SweepRow(string Name, string GridFile, string Launcher, string? GitCommit, string? Host, string? Hardware);
