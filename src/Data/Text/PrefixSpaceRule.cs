namespace MultiLora.Data.Text;

/// <summary>
/// Where the SentencePiece word-start marker "▁" is put in front of text, the part of HF's Llama
/// tokenizer behaviour that its <c>legacy</c> flag changes. Text is first split around added tokens
/// (such as &lt;image&gt; or &lt;/s&gt;); the rule applies to each remaining text segment.
/// </summary>
public enum PrefixSpaceRule
{
    /// <summary>
    /// <c>legacy: false</c> (tokenizers' Metaspace, prepend_scheme "first"): "▁" is prepended only to the
    /// segment that starts the text at offset 0, and only when it does not already start with a space.
    /// Text after a special token continues the sentence.
    /// </summary>
    FirstSegment,
    /// <summary>Metaspace prepend_scheme "always": every segment not starting with a space gets "▁".</summary>
    EverySegmentUnlessSpace,
    /// <summary>
    /// <c>legacy: true</c> (tokenizers' Prepend("▁") normalizer): every non-empty segment gets "▁",
    /// even one that already starts with a space; text after a special token starts a new sentence.
    /// </summary>
    EverySegment,
    /// <summary>Metaspace prepend_scheme "never".</summary>
    Never,
}
