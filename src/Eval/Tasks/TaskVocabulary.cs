namespace MultiLora.Eval.Tasks;

/// <summary>The one place that names what a task YAML may say: keys, formats, parsers, scorers and their metrics.</summary>
public static class TaskVocabulary
{
    public static readonly IReadOnlySet<string> Keys = new HashSet<string>
    {
        "name", "description", "format", "data", "image_root", "references", "context", "annotations",
        "prompt", "suffix", "answer_parser", "scorer", "metrics", "max_new_tokens", "circular",
    };

    public static readonly IReadOnlySet<string> RequiredKeys = new HashSet<string> { "name", "format", "data", "prompt", "answer_parser", "scorer", "metrics" };

    /// <summary>Sample file formats (see Samples/SampleReader).</summary>
    public static readonly IReadOnlySet<string> Formats = new HashSet<string>
    {
        "mmbench_tsv", "pope_jsonl", "scienceqa_json", "vqa_json", "gqa_json", "llava_bench_jsonl", "mmvet_json",
    };

    /// <summary>Answer post-processing (see Scoring/AnswerParsers).</summary>
    public static readonly IReadOnlySet<string> AnswerParsers = new HashSet<string>
    {
        "option_letter", "scienceqa_letter", "pope_yes_no", "vqa", "gqa", "raw",
    };

    /// <summary>Scorer name -> the metrics it can report (per-category/per-split breakdowns come with them).</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlySet<string>> ScorerMetrics = new Dictionary<string, IReadOnlySet<string>>
    {
        ["choice"] = new HashSet<string> { "accuracy", "category_accuracy" },
        ["pope"] = new HashSet<string> { "accuracy", "precision", "recall", "f1", "yes_ratio" },
        ["vqa"] = new HashSet<string> { "vqa_accuracy" },
        ["exact_match"] = new HashSet<string> { "exact_match" },
        ["llava_bench"] = new HashSet<string> { "relative_score" },
        ["mmvet"] = new HashSet<string> { "score", "capability_score" },
    };

    public const int DefaultMaxNewTokens = 128;

    /// <summary>The standard LLaVA-1.5 suffixes, so a YAML may say `suffix: short_answer` instead of repeating them.</summary>
    public static readonly IReadOnlyDictionary<string, string> SuffixAliases = new Dictionary<string, string>
    {
        ["short_answer"] = "Answer the question using a single word or phrase.",
        ["option_letter"] = "Answer with the option's letter from the given choices directly.",
    };
}
