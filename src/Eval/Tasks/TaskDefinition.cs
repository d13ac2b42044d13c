namespace MultiLora.Eval.Tasks;

/// <summary>
/// One benchmark as data (a YAML file). Paths are relative to the data root given at run time.
/// <see cref="Data"/> may contain '*': every matching file is read and becomes a split named after the file.
/// </summary>
public sealed record TaskDefinition(
    string Name,
    string Description,
    string Format,
    string Data,
    string? ImageRoot,
    string? References,
    string? Context,
    string? Annotations,
    string Prompt,
    string? Suffix,
    string AnswerParser,
    string Scorer,
    IReadOnlyList<string> Metrics,
    int MaxNewTokens,
    bool Circular,
    string Origin);
