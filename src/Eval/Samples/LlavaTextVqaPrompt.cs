namespace MultiLora.Eval.Samples;

/// <summary>
/// prompt_processor of LLaVA's eval_textvqa.py: the question inside the "prompt" LLaVA's answer file carries for
/// TextVQA (question, "Reference OCR token: ..." line, instruction; or two lines; or the "OCR tokens: ... Question:
/// ... Short answer:" layout). Returns the question as written (the script lower-cases it), or null where the script
/// fails (its `assert False`, or no match).
/// </summary>
public static class LlavaTextVqaPrompt
{
    public static string? Question(string prompt)
    {
        if (prompt.StartsWith("OCR tokens: ", StringComparison.Ordinal))
        {
            // re.search(r"Question: (.*?) Short answer:", prompt, re.DOTALL)
            var start = prompt.IndexOf("Question: ", StringComparison.Ordinal);
            if (start < 0) return null;
            start += "Question: ".Length;
            var end = prompt.IndexOf(" Short answer:", start, StringComparison.Ordinal);
            return end < 0 ? null : prompt[start..end];
        }
        var lines = prompt.Split('\n');
        if (prompt.Contains("Reference OCR token: ", StringComparison.Ordinal) && lines.Length == 3)
            return prompt.StartsWith("Reference OCR token:", StringComparison.Ordinal) ? lines[1] : lines[0];
        return lines.Length == 2 ? lines[0] : null;
    }
}
