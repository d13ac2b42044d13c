using MultiLora.Data.Model;

namespace MultiLora.Data.Text;

/// <summary>
/// A tokenizer that also says which characters each token covers. The conversation encoder needs it to
/// label tokens by the text they came from while encoding the whole conversation in one pass, which is
/// the only way to get exactly the ids HF gets (encoding pieces separately changes merges at the seams).
/// </summary>
public interface IOffsetTokenizer : ITextTokenizer
{
    TokenSpan[] EncodeWithSpans(string text, bool addSpecialTokens);
}

/// <summary>
/// The tokenizer of a model folder, whichever kind the folder holds (<see cref="TokenizerLoader"/>): what
/// training, generation, evaluation and serving need, and the special-token texts chat templates render.
/// </summary>
public interface IModelTokenizer : IOffsetTokenizer
{
    /// <summary>The file the tokenizer was read from (for messages).</summary>
    string Source { get; }
    /// <summary>bos_token / eos_token as text (chat templates render them), null when the tokenizer has none.</summary>
    string? BosToken { get; }
    string? EosToken { get; }
    /// <summary>The vocabulary string of an id ("▁The", "Ġthe", "&lt;0x0A&gt;", "&lt;image&gt;"), or null.</summary>
    string? IdToToken(int id);
}
