namespace MultiLora.Data.Model;

/// <summary>The tokenizer surface the rest of MultiLora uses (model-agnostic).</summary>
public interface ITextTokenizer
{
    int VocabSize { get; }
    /// <summary>The beginning-of-sequence id, or null for tokenizers without one (Qwen).</summary>
    int? BosId { get; }
    int EosId { get; }
    /// <summary>Padding id: the tokenizer's pad token if it has one, else its unknown token (0 for Llama, as HF-based LLaVA training ends up with), else <see cref="EosId"/>.</summary>
    int PadId { get; }
    /// <summary>
    /// Encodes text, splitting around added special tokens (such as &lt;image&gt;) the way HF does.
    /// <paramref name="addSpecialTokens"/>: put the special tokens the tokenizer's post-processor adds around a
    /// sequence (BOS for Llama-family tokenizers, nothing for Qwen), as HF's add_special_tokens.
    /// </summary>
    int[] Encode(string text, bool addSpecialTokens);
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true);
    /// <summary>The id of a token string (an added special token such as "&lt;image&gt;"), or null.</summary>
    int? TokenToId(string token);
}
