namespace MultiLora.Data.Model;

/// <summary>The tokenizer surface the rest of MultiLora uses (model-agnostic).</summary>
public interface ITextTokenizer
{
    int VocabSize { get; }
    int BosId { get; }
    int EosId { get; }
    /// <summary>Padding id: the tokenizer's pad token if it has one, else <see cref="EosId"/>... or 0 where HF uses 0.</summary>
    int PadId { get; }
    /// <summary>Encodes text, splitting around added special tokens (such as &lt;image&gt;) the way HF does.</summary>
    int[] Encode(string text, bool addBos);
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true);
    /// <summary>The id of a token string (an added special token such as "&lt;image&gt;"), or null.</summary>
    int? TokenToId(string token);
}
