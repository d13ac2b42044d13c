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
    string ImagePrefix)
{
    /// <summary>The placeholder the data uses for the image (LLaVA's DEFAULT_IMAGE_TOKEN).</summary>
    public const string ImageToken = "<image>";
}
