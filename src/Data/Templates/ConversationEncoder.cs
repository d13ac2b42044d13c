using MultiLora.Data.Model;
using MultiLora.Data.Text;

namespace MultiLora.Data.Templates;

/// <summary>
/// Turns a conversation into ids and labels under a template: the whole conversation is rendered to one
/// string and tokenized in one pass (so ids equal HF's for the same text), a token is scored when it covers
/// any scored character (the reply and its end-of-turn separator), and the single image placeholder id is
/// expanded to <c>imageTokensPerImage</c> copies, never scored.
/// </summary>
public sealed class ConversationEncoder : IConversationEncoder
{
    readonly IChatTemplate _template;
    readonly IOffsetTokenizer _tokenizer;
    readonly int _imageTokenId;
    readonly int _imageTokensPerImage;
    readonly int _maxLength;

    /// <param name="imageTokenId">The id the tokenizer gives "&lt;image&gt;" (an added token; 400 in tiny-llava, 32000 in llava-hf).</param>
    /// <param name="imageTokensPerImage">Positions one image takes (vision patches kept, e.g. 576 for 336px/14 without CLS).</param>
    /// <param name="maxLength">Samples longer than this are truncated at the end (model_max_length).</param>
    public ConversationEncoder(IChatTemplate template, IOffsetTokenizer tokenizer, int imageTokenId, int imageTokensPerImage, int maxLength)
    {
        if (imageTokensPerImage < 1) throw new ArgumentException($"image tokens per image must be at least 1, got {imageTokensPerImage}");
        if (maxLength < 1) throw new ArgumentException($"max length must be at least 1, got {maxLength}");
        var id = tokenizer.TokenToId(ConversationTemplate.ImageToken);
        if (id != imageTokenId)
            throw new ArgumentException($"the tokenizer maps {ConversationTemplate.ImageToken} to {(id is null ? "nothing" : id.ToString())}, not the image token id {imageTokenId}; the tokenizer must have {ConversationTemplate.ImageToken} as an added token");
        (_template, _tokenizer, _imageTokenId, _imageTokensPerImage, _maxLength) = (template, tokenizer, imageTokenId, imageTokensPerImage, maxLength);
    }

    public IChatTemplate Template => _template;

    /// <summary>The rendered prompt text (before tokenization), for inspection and `multilora data show`.</summary>
    public RenderedConversation Render(Conversation conversation) => _template.Render(conversation);

    public EncodedSample Encode(Conversation conversation)
    {
        var rendered = Render(conversation);
        var tokens = _tokenizer.EncodeWithSpans(rendered.Text, _template.TokenizerAddsSpecialTokens);
        var placeholders = tokens.Count(t => t.Id == _imageTokenId);
        if (placeholders != (conversation.HasImage ? 1 : 0))
            throw new InvalidDataException($"{conversation.Origin}: template '{_template.Name}' rendered {placeholders} {ConversationTemplate.ImageToken} tokens for a conversation with {(conversation.HasImage ? "one image" : "no image")}");
        var ids = new List<int>(tokens.Length + _imageTokensPerImage);
        var labels = new List<int>(ids.Capacity);
        var imageStart = -1;
        foreach (var token in tokens)
        {
            if (token.Id == _imageTokenId)
            {
                imageStart = ids.Count;
                for (var i = 0; i < _imageTokensPerImage; i++) { ids.Add(_imageTokenId); labels.Add(EncodedSample.IgnoreIndex); }
                continue;
            }
            ids.Add(token.Id);
            labels.Add(IsScored(token, rendered.ScoredSpans) ? token.Id : EncodedSample.IgnoreIndex);
        }
        var imageTokens = imageStart >= 0 ? _imageTokensPerImage : 0;
        if (ids.Count > _maxLength)
        {
            if (imageStart >= 0 && _maxLength < imageStart + _imageTokensPerImage)
                throw new InvalidDataException($"{conversation.Origin}: {ids.Count} tokens; truncating to max length {_maxLength} would cut the image tokens at {imageStart}..{imageStart + _imageTokensPerImage - 1}");
            ids.RemoveRange(_maxLength, ids.Count - _maxLength);
            labels.RemoveRange(_maxLength, labels.Count - _maxLength);
        }
        return new EncodedSample(ids.ToArray(), labels.ToArray(), imageTokens);
    }

    static bool IsScored(TokenSpan token, IReadOnlyList<(int Start, int End)> spans)
    {
        foreach (var (start, end) in spans)
            if (token.Start < end && token.End > start) return true;
        return false;
    }
}
