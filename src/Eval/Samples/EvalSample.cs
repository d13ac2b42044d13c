using MultiLora.Data.Model;

namespace MultiLora.Eval.Samples;

/// <summary>A lettered option of a multiple-choice question ("A", "cat").</summary>
public sealed record ChoiceOption(string Letter, string Text);

/// <summary>
/// One benchmark item as read from its official file, whatever the format.
/// <paramref name="Group"/> ties samples scored together (MMBench circular rotations); it defaults to the id.
/// <paramref name="Answer"/> is the single reference (option letter, yes/no, short answer, reference text);
/// <paramref name="Answers"/> the annotator answers of VQA-style tasks.
/// </summary>
public sealed record EvalSample(
    string Id,
    string Question,
    ImageSource? Image,
    string Answer,
    string Split = "",
    string? Group = null,
    string? Category = null,
    string? Category2 = null,
    string Hint = "",
    IReadOnlyList<ChoiceOption>? Options = null,
    IReadOnlyList<string>? Answers = null,
    string Context = "",
    string Origin = "")
{
    public string GroupKey => Group ?? Id;
    public IReadOnlyList<ChoiceOption> Choices => Options ?? [];
}
