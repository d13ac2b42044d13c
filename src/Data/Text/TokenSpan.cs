namespace MultiLora.Data.Text;

/// <summary>
/// One token and the characters [Start, End) of the encoded text it came from. A prefix "▁" added by
/// the tokenizer covers no character; BOS has Start == End == 0.
/// </summary>
public readonly record struct TokenSpan(int Id, int Start, int End);
