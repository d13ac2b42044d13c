namespace MultiLora.Data.Templates;

/// <summary>A conversation as one prompt string, with the character ranges [Start, End) the loss is taken on.</summary>
public sealed record RenderedConversation(string Text, IReadOnlyList<(int Start, int End)> ScoredSpans);
