namespace MultiLora.Eval.Scoring;

/// <summary>
/// One scored (or failed) sample, one JSONL line of a run. Metrics are computed from these records alone, so a
/// resumed run and `eval score` aggregate exactly as a fresh run does. <see cref="AnswerLine"/>: the line of the
/// answer file the prediction came from (`eval score`). <see cref="Multimodal"/>: ScienceQA only, whether LLaVA's
/// script counts the answer in IMG-Accuracy. <see cref="Optional"/>: a sample outside the task's required set
/// (ScienceQA questions without an image, GQA questions outside the balanced set).
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
    string? Error = null,
    int? AnswerLine = null,
    bool? Multimodal = null,
    bool? Optional = null)
{
    public const string Ok = "ok";
    public const string Failed = "failed";
    public bool IsOk => Status == Ok;
    public string GroupKey => Group ?? Id;
    public bool IsOptional => Optional == true;
}
