using MultiLora.Data.Model;

namespace MultiLora.Eval.Samples;

/// <summary>A lettered option of a multiple-choice question ("A", "cat").</summary>
public sealed record ChoiceOption(string Letter, string Text);

/// <summary>
/// One benchmark item as read from its official file, whatever the format.
/// <paramref name="Group"/> ties samples scored together (MMBench circular rotations); it defaults to the id.
/// <paramref name="Answer"/> is the single reference (option letter, yes/no, short answer, reference text);
/// <paramref name="Answers"/> the annotator answers of VQA-style tasks.
/// <paramref name="Optional"/>: outside the task's required set (ScienceQA questions without an image, GQA
/// questions outside the balanced set): a run does not ask them and an answer file may leave them out, but an
/// answer to them is not an unknown id. <paramref name="JoinKey"/>: what an answer file row is matched on when it
/// is not the id (TextVQA: image id and lower-cased question, as LLaVA's eval_textvqa.py joins).
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
    string Origin = "",
    bool Optional = false,
    string? JoinKey = null)
{
    public string GroupKey => Group ?? Id;
    public IReadOnlyList<ChoiceOption> Choices => Options ?? [];
}
