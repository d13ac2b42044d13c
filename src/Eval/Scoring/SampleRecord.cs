namespace MultiLora.Eval.Scoring;

/// <summary>
/// One scored (or failed) sample, one JSONL line of a run. Metrics are computed from these records alone, so a
/// resumed run and `eval score` aggregate exactly as a fresh run does.
/// </summary>
public sealed record SampleRecord(
    string Task,
    string Id,
    string Status,
    string Prompt,
    string? Prediction,
    string? Parsed,
    string Reference,
    double? Score,
    double? ReferenceScore = null,
    string Split = "",
    string? Group = null,
    string? Category = null,
    string? Category2 = null,
    string? Error = null)
{
    public const string Ok = "ok";
    public const string Failed = "failed";
    public bool IsOk => Status == Ok;
    public string GroupKey => Group ?? Id;
}
