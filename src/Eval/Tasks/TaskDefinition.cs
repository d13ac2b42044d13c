namespace MultiLora.Eval.Tasks;

/// <summary>
/// One benchmark as data (a YAML file). Paths are relative to the data root given at run time.
/// <see cref="Data"/> may contain '*': every matching file is read and becomes a split named after the file.
/// <see cref="AnswerParser"/> is null for scorers that parse replies as their reference does.
/// <see cref="Reproduces"/>: the reference implementations the scorer reproduces (empty for a user task that names none).
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
    string? AnswerParser,
    string Scorer,
    IReadOnlyList<string> Metrics,
    int MaxNewTokens,
    bool Circular,
    string Origin,
    IReadOnlyList<ReferenceImplementation>? Reproduces = null);
