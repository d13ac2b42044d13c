using System.Text.Json.Nodes;

namespace MultiLora.Data.Text.Hub;

/// <summary>What transformers reads from tokenizer_config.json beside tokenizer.json (all optional).</summary>
public sealed record TokenizerConfig(
    string? BosToken,
    string? EosToken,
    string? PadToken,
    string? UnkToken,
    bool? AddBosToken,
    bool? AddEosToken,
    bool CleanUpTokenizationSpaces,
    string? TokenizerClass)
{
    public const string FileName = "tokenizer_config.json";

    public static TokenizerConfig Load(string modelDir)
    {
        var path = Path.Combine(modelDir, FileName);
        if (!File.Exists(path)) return new TokenizerConfig(null, null, null, null, null, null, false, null);
        var config = TokenizerSettings.ParseObject(path);
        return new TokenizerConfig(
            TokenizerSettings.TokenName(config, "bos_token", path),
            TokenizerSettings.TokenName(config, "eos_token", path),
            TokenizerSettings.TokenName(config, "pad_token", path),
            TokenizerSettings.TokenName(config, "unk_token", path),
            TokenizerSettings.Flag(config, "add_bos_token", path),
            TokenizerSettings.Flag(config, "add_eos_token", path),
            TokenizerSettings.Flag(config, "clean_up_tokenization_spaces", path) ?? false,
            config["tokenizer_class"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null);
    }

    /// <summary>
    /// transformers' LlamaTokenizerFast rebuilds the post-processor from add_bos_token / add_eos_token, so for
    /// Llama-class tokenizers those flags, where the config states them, decide BOS/EOS over tokenizer.json's.
    /// </summary>
    public bool OverridesPostProcessor => TokenizerClass is "LlamaTokenizer" or "LlamaTokenizerFast" or "CodeLlamaTokenizer" or "CodeLlamaTokenizerFast"
                                          && (AddBosToken is not null || AddEosToken is not null);
}
