using MultiLora.Data.Model;

namespace MultiLora.Data.Templates;

/// <summary>
/// Generation prompts for `multilora generate/chat`: the earlier turns, the new user message, and the
/// assistant's role prefix the model continues from ("... ASSISTANT:", "... [/INST]", "&lt;|im_start|&gt;assistant\n").
/// The image placeholder (one "&lt;image&gt;", to be expanded by the caller's tokenizer step) goes where
/// training put it: the first human turn, unless some human turn already holds it.
/// </summary>
public static class PromptBuilder
{
    /// <param name="history">Earlier turns, alternating human/gpt (may start with a system turn that replaces the template's system prompt).</param>
    public static string Build(ConversationTemplate template, IReadOnlyList<Turn> history, string userMessage, bool hasImage)
    {
        var turns = history.Append(new Turn(Speaker.Human, userMessage)).ToList();
        var (normalized, system) = TurnNormalizer.Normalize(template, PlainHistory(template, turns), hasImage, "prompt", endsWithHuman: true);
        return TemplateRenderer.Render(template, normalized, system, addGenerationPrompt: true).Text;
    }

    // Stage-1 (plain) models were trained on "<image>caption" only: the prompt is the image alone.
    static IReadOnlyList<Turn> PlainHistory(ConversationTemplate template, List<Turn> turns) =>
        template.SepStyle == SeparatorStyle.Plain ? [turns[^1]] : turns;
}
