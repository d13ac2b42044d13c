namespace MultiLora.Eval.Tasks;

/// <summary>
/// A scorer a task YAML may name: the metric families it reports, and the answer parser it embodies (the parsing
/// of the script it reproduces), or null for a generic scorer that needs the task's <c>answer_parser</c>.
/// </summary>
public sealed record ScorerSpec(IReadOnlySet<string> Metrics, string? EmbodiedParser);

/// <summary>The one place that names what a task YAML may say: keys, formats, parsers, scorers and their metrics.</summary>
public static class TaskVocabulary
{
    public static readonly IReadOnlySet<string> Keys = new HashSet<string>
    {
        "name", "description", "format", "data", "image_root", "references", "context", "annotations",
        "prompt", "suffix", "answer_parser", "scorer", "metrics", "max_new_tokens", "circular", "reproduces",
    };

    public static readonly IReadOnlySet<string> RequiredKeys = new HashSet<string> { "name", "format", "data", "prompt", "scorer", "metrics" };

    /// <summary>Keys of each entry of <c>reproduces</c>.</summary>
    public static readonly IReadOnlySet<string> ReproducesKeys = new HashSet<string> { "repository", "commit", "files" };

    /// <summary>Sample file formats (see Samples/SampleReader).</summary>
    public static readonly IReadOnlySet<string> Formats = new HashSet<string>
    {
        "mmbench_tsv", "pope_jsonl", "scienceqa_json", "vqa_json", "gqa_json", "llava_bench_jsonl", "mmvet_json",
    };

    /// <summary>Answer post-processing of the generic scorers (see Scoring/AnswerParsers).</summary>
    public static readonly IReadOnlySet<string> AnswerParsers = new HashSet<string>
    {
        "option_letter", "scienceqa_letter", "pope_yes_no", "vqa", "gqa", "raw",
    };

    static ScorerSpec Spec(string? parser, params string[] metrics) => new(metrics.ToHashSet(), parser);

    /// <summary>
    /// Scorer name -> spec. The reference scorers reproduce one script each (see Scoring/ScorerFactory); "pope" and
    /// "vqa" are the older names of llava_pope and m4c_textvqa; "choice" and "exact_match" are generic.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, ScorerSpec> Scorers = new Dictionary<string, ScorerSpec>
    {
        ["llava_pope"] = Spec("pope_yes_no", "accuracy", "precision", "recall", "f1", "yes_ratio"),
        ["pope"] = Spec("pope_yes_no", "accuracy", "precision", "recall", "f1", "yes_ratio"),
        ["m4c_textvqa"] = Spec("vqa", "vqa_accuracy"),
        ["vqa"] = Spec("vqa", "vqa_accuracy"),
        ["vqav2_official"] = Spec("vqa", "vqa_accuracy"),
        ["vizwiz_official"] = Spec("vqa", "vqa_accuracy"),
        ["gqa_official"] = Spec("gqa", "accuracy"),
        ["llava_scienceqa"] = Spec("scienceqa_letter", "accuracy", "accuracy_all"),
        ["vlmevalkit_circular"] = Spec("option_letter", "accuracy", "category_accuracy"),
        ["mmvet"] = Spec("raw", "score", "capability_score"),
        ["llava_bench"] = Spec("raw", "relative_score", "model_score", "reference_score"),
        ["choice"] = Spec(null, "accuracy", "category_accuracy"),
        ["exact_match"] = Spec(null, "exact_match"),
    };

    public const int DefaultMaxNewTokens = 128;

    /// <summary>The standard LLaVA-1.5 suffixes, so a YAML may say `suffix: short_answer` instead of repeating them.</summary>
    public static readonly IReadOnlyDictionary<string, string> SuffixAliases = new Dictionary<string, string>
    {
        ["short_answer"] = "Answer the question using a single word or phrase.",
        ["option_letter"] = "Answer with the option's letter from the given choices directly.",
    };
}
