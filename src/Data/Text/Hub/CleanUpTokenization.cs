namespace MultiLora.Data.Text.Hub;

/// <summary>transformers' clean_up_tokenization, applied to decoded text when tokenizer_config.json sets clean_up_tokenization_spaces.</summary>
public static class CleanUpTokenization
{
    public static string Apply(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");
}
