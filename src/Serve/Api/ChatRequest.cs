namespace MultiLora.Serve.Api;

/// <summary>A chat message as the model sees it: who speaks, the text (text parts joined by newlines), its image URLs.</summary>
/// <param name="Param">where the message sits in the request ("messages[2]"), for errors</param>
public sealed record ChatMessage(string Role, string Text, IReadOnlyList<ImagePart> Images, string Param);

/// <summary>An image_url part: the URL (data:, http(s):, file: or a path) and where it sits ("messages[0].content[1].image_url.url").</summary>
public sealed record ImagePart(string Url, string Param);

/// <summary>A /v1/chat/completions request after validation: every field typed, defaults applied as OpenAI applies them.</summary>
/// <param name="MaxTokens">max_completion_tokens, else max_tokens; null: up to the context length</param>
/// <param name="MaxTokensParam">which of the two the client used (named in a context-length error)</param>
/// <param name="ReturnTokenIds">vLLM's extension: the prompt's and the reply's token ids in the response</param>
/// <param name="IgnoreEos">vLLM's extension: generate max_tokens tokens whatever the model says (load tests)</param>
public sealed record ChatRequest(
    string Model,
    IReadOnlyList<ChatMessage> Messages,
    int? MaxTokens,
    string MaxTokensParam,
    double Temperature,
    double TopP,
    long? Seed,
    IReadOnlyList<string> Stop,
    bool Stream,
    bool IncludeUsage,
    bool ReturnTokenIds,
    bool IgnoreEos);
