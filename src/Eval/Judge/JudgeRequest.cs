namespace MultiLora.Eval.Judge;

public sealed record JudgeMessage(string Role, string Content);

/// <summary>One chat-completions call: messages, temperature, max_tokens.</summary>
public sealed record JudgeRequest(IReadOnlyList<JudgeMessage> Messages, double Temperature, int MaxTokens);

/// <summary>The judge's text, or why there is none (after retries). <see cref="FromCache"/>: no call was made.</summary>
public sealed record JudgeReply(string? Content, string? Failure, bool FromCache, int Attempts)
{
    public bool Ok => Content is not null;
}
