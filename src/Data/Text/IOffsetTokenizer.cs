using MultiLora.Data.Model;

namespace MultiLora.Data.Text;

/// <summary>
/// A tokenizer that also says which characters each token covers. The conversation encoder needs it to
/// label tokens by the text they came from while encoding the whole conversation in one pass, which is
/// the only way to get exactly the ids HF gets (encoding pieces separately changes merges at the seams).
/// </summary>
public interface IOffsetTokenizer : ITextTokenizer
{
    TokenSpan[] EncodeWithSpans(string text, bool addBos);
}
