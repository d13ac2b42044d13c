namespace MultiLora.Data.Text;

/// <summary>A token matched verbatim in text before SentencePiece runs (tokenizer.json "added_tokens").</summary>
/// <param name="Special">Special tokens are dropped by Decode(skipSpecialTokens: true).</param>
public sealed record AddedToken(int Id, string Content, bool Special);
