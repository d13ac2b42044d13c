namespace MultiLora.Data.Text.Hub;

/// <summary>A tokenizer.json "post_processor" for one sequence: the special tokens put around it (BOS/EOS as the file says).</summary>
public interface IPostProcessor
{
    /// <summary>Adds the special tokens to <paramref name="tokens"/> (the encoded text of length <paramref name="textLength"/>).</summary>
    List<Data.Text.TokenSpan> Process(List<Data.Text.TokenSpan> tokens, int textLength);
}

/// <summary>
/// TemplateProcessing's "single" template: a list of special-token ids and the sequence ($A). Special
/// tokens before the sequence cover [0, 0), after it [length, length).
/// </summary>
public sealed class TemplateProcessor(IReadOnlyList<TemplateProcessor.Piece> single) : IPostProcessor
{
    /// <summary>Either the sequence (Ids null) or a special token's ids.</summary>
    public sealed record Piece(int[]? Ids);

    public List<Data.Text.TokenSpan> Process(List<Data.Text.TokenSpan> tokens, int textLength)
    {
        var result = new List<Data.Text.TokenSpan>(tokens.Count + single.Count);
        var seenSequence = false;
        foreach (var piece in single)
        {
            if (piece.Ids is null) { result.AddRange(tokens); seenSequence = true; continue; }
            var at = seenSequence ? textLength : 0;
            foreach (var id in piece.Ids) result.Add(new Data.Text.TokenSpan(id, at, at));
        }
        return result;
    }
}

/// <summary>Post-processors that add no tokens to a single sequence (ByteLevel: offsets only).</summary>
public sealed class NoTokensPostProcessor : IPostProcessor
{
    public List<Data.Text.TokenSpan> Process(List<Data.Text.TokenSpan> tokens, int textLength) => tokens;
}

public sealed class SequencePostProcessor(IReadOnlyList<IPostProcessor> steps) : IPostProcessor
{
    public List<Data.Text.TokenSpan> Process(List<Data.Text.TokenSpan> tokens, int textLength)
    {
        foreach (var step in steps) tokens = step.Process(tokens, textLength);
        return tokens;
    }
}
