using System.Text.RegularExpressions;
using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// Letter extraction of LLaVA's eval_science_qa.py: newlines become ". "; the whole (trimmed) reply is a letter;
/// or it starts with "X. "; or it contains "The answer is X" (X in A-E). Anything else fails (scored wrong).
/// A letter beyond the problem's choices also fails.
/// </summary>
public static partial class ScienceQaLetter
{
    static readonly string[] Letters = ["A", "B", "C", "D", "E"];

    [GeneratedRegex(@"The answer is ([A-E])")]
    private static partial Regex AnswerIs();

    public static string? Extract(string prediction, IReadOnlyList<ChoiceOption> options)
    {
        var text = prediction.Replace("\n", ". ");
        string? letter = null;
        if (Letters.Contains(text.Trim())) letter = text.Trim();
        else if (text.Length >= 3 && Letters.Contains(text[0].ToString()) && text[1..3] == ". ") letter = text[0].ToString();
        else if (AnswerIs().Match(text) is { Success: true } m) letter = m.Groups[1].Value;
        return letter is not null && options.Any(o => o.Letter == letter) ? letter : null;
    }
}
