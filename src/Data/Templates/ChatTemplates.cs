using MultiLora.Data.Text;

namespace MultiLora.Data.Templates;

/// <summary>
/// Chooses a model's prompt format. Precedence: an explicit template (a built-in name, a .yaml template, a
/// .jinja file, or "chat_template" for the folder's own), then the model folder's chat_template, then the
/// built-in default the caller names.
/// </summary>
public static class ChatTemplates
{
    public static IChatTemplate Resolve(string? requested, string modelDir, string fallback, IModelTokenizer tokenizer)
    {
        if (requested is null)
            return (IChatTemplate?)Checkpoint(modelDir, tokenizer) ?? TemplateCatalog.Get(fallback);
        if (requested == JinjaChatTemplate.CheckpointName)
            return Checkpoint(modelDir, tokenizer)
                ?? throw new FileNotFoundException($"{modelDir}: template '{requested}' asked for, but the folder has no chat template ({ChatTemplateFiles.JinjaFile}, {ChatTemplateFiles.JsonFile} or tokenizer_config.json chat_template)");
        if (requested.EndsWith(".jinja", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(requested)) throw new FileNotFoundException($"{requested}: template file not found", requested);
            return new JinjaChatTemplate(requested, File.ReadAllText(requested), requested, SpecialTokens(tokenizer));
        }
        return TemplateCatalog.Get(requested);
    }

    static JinjaChatTemplate? Checkpoint(string modelDir, IModelTokenizer tokenizer) =>
        ChatTemplateFiles.Find(modelDir) is { } found
            ? new JinjaChatTemplate(JinjaChatTemplate.CheckpointName, found.Source, found.Origin, SpecialTokens(tokenizer))
            : null;

    /// <summary>The special-token texts transformers passes to chat templates.</summary>
    public static IReadOnlyDictionary<string, string?> SpecialTokens(IModelTokenizer tokenizer) => new Dictionary<string, string?>
    {
        ["bos_token"] = tokenizer.BosToken,
        ["eos_token"] = tokenizer.EosToken,
        ["pad_token"] = tokenizer.IdToToken(tokenizer.PadId),
    };
}

/// <summary>
/// A model folder's text side, the one factory every command uses: its tokenizer (<see cref="TokenizerLoader"/>)
/// and its prompt format (<see cref="ChatTemplates.Resolve"/>).
/// </summary>
public sealed record ModelText(IModelTokenizer Tokenizer, IChatTemplate Template)
{
    public static ModelText Load(string modelDir, string? template, string fallbackTemplate)
    {
        var tokenizer = TokenizerLoader.Load(modelDir);
        return new ModelText(tokenizer, ChatTemplates.Resolve(template, modelDir, fallbackTemplate, tokenizer));
    }
}
