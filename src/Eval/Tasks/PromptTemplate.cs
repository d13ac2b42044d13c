using System.Text;
using System.Text.RegularExpressions;
using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Tasks;

/// <summary>
/// Renders a task's prompt template for one sample. Placeholders:
/// {question}; {hint} (raw, may be empty); {hint_line} ("hint\n" or nothing: LLaVA's MMBench layout);
/// {hint_or_na} (hint or "N/A"); {options} ("\nA. x\nB. y" or nothing: LLaVA's MMBench layout);
/// {options_inline} ("(A) x (B) y": LLaVA's ScienceQA CQM layout). The suffix follows on its own line.
/// </summary>
public static partial class PromptTemplate
{
    static readonly string[] Known = ["question", "hint", "hint_line", "hint_or_na", "options", "options_inline"];

    [GeneratedRegex(@"\{([a-z_]+)\}")]
    private static partial Regex Placeholder();

    public static void Validate(string template, string origin)
    {
        foreach (Match m in Placeholder().Matches(template))
            if (!Known.Contains(m.Groups[1].Value))
                throw new InvalidDataException($"{origin}: key 'prompt': unknown placeholder '{{{m.Groups[1].Value}}}' (known: {string.Join(", ", Known.Select(k => "{" + k + "}"))})");
    }

    public static string Render(TaskDefinition task, EvalSample sample)
    {
        var options = new StringBuilder();
        foreach (var o in sample.Choices) options.Append('\n').Append(o.Letter).Append(". ").Append(o.Text);
        var text = Placeholder().Replace(task.Prompt, m => m.Groups[1].Value switch
        {
            "question" => sample.Question,
            "hint" => sample.Hint,
            "hint_line" => sample.Hint.Length > 0 ? sample.Hint + "\n" : "",
            "hint_or_na" => sample.Hint.Length > 0 ? sample.Hint : "N/A",
            "options" => options.ToString(),
            "options_inline" => string.Join(" ", sample.Choices.Select(o => $"({o.Letter}) {o.Text}")),
            _ => m.Value,
        });
        // LLaVA's own question files (llava_pope_test.jsonl, ...) already end with the instruction: not twice.
        return task.Suffix is null || text.EndsWith("\n" + task.Suffix, StringComparison.Ordinal) ? text : text + "\n" + task.Suffix;
    }
}
