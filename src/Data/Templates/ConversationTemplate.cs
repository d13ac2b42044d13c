using MultiLora.Data.Model;

namespace MultiLora.Data.Templates;

/// <summary>
/// A conversation template as data (one YAML file each, fields as in LLaVA's conversation.py).
/// <paramref name="ImagePrefix"/> is what the image placeholder becomes at the start of the first human
/// turn ("&lt;image&gt;\n" as LLaVA's preprocess_multimodal writes it).
/// </summary>
public sealed record ConversationTemplate(
    string Name,
    IReadOnlyList<string> Aliases,
    SeparatorStyle SepStyle,
    string System,
    string UserRole,
    string AssistantRole,
    string Sep,
    string Sep2,
    string ImagePrefix) : IChatTemplate
{
    /// <summary>The placeholder the data uses for the image (LLaVA's DEFAULT_IMAGE_TOKEN).</summary>
    public const string ImageToken = "<image>";

    /// <summary>LLaVA's tokenizer_image_token adds BOS in front of these prompts.</summary>
    public bool TokenizerAddsSpecialTokens => true;

    public RenderedConversation Render(Conversation conversation)
    {
        var (turns, system) = TurnNormalizer.Normalize(this, conversation.Turns, conversation.HasImage, conversation.Origin, endsWithHuman: false);
        return TemplateRenderer.Render(this, turns, system, addGenerationPrompt: false);
    }

    public string Prompt(IReadOnlyList<Turn> history, string userMessage, bool hasImage) => PromptBuilder.Build(this, history, userMessage, hasImage);
}
