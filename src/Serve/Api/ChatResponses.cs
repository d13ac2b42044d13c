using System.Text.Json.Nodes;

namespace MultiLora.Serve.Api;

/// <summary>
/// OpenAI's chat completion objects, field for field: "chat.completion" for a whole reply, "chat.completion.chunk"
/// for each streamed piece (the first carries the role, the last the finish_reason, and with include_usage a final
/// chunk with no choices carries the usage).
/// </summary>
public sealed class ChatResponses(string id, long created, string model)
{
    public static ChatResponses Start(string model) =>
        new($"chatcmpl-{Guid.NewGuid():N}", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model);

    public string Id => id;

    public JsonObject Completion(string content, string finishReason, int promptTokens, IReadOnlyList<int> tokenIds, bool withTokenIds, int[] promptIds)
    {
        var choice = new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content, ["refusal"] = null },
            ["logprobs"] = null,
            ["finish_reason"] = finishReason,
        };
        if (withTokenIds) choice["token_ids"] = new JsonArray(tokenIds.Select(t => (JsonNode)t).ToArray());
        var body = Envelope("chat.completion");
        body["choices"] = new JsonArray(choice);
        body["usage"] = Usage(promptTokens, tokenIds.Count);
        if (withTokenIds) body["prompt_token_ids"] = new JsonArray(promptIds.Select(t => (JsonNode)t).ToArray());
        return body;
    }

    /// <param name="delta">{"role": "assistant", "content": ""} first, then {"content": piece}, then {} with the finish reason</param>
    public JsonObject Chunk(JsonObject delta, string? finishReason, bool includeUsage)
    {
        var body = Envelope("chat.completion.chunk");
        body["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finishReason });
        if (includeUsage) body["usage"] = null;
        return body;
    }

    public JsonObject UsageChunk(int promptTokens, int completionTokens)
    {
        var body = Envelope("chat.completion.chunk");
        body["choices"] = new JsonArray();
        body["usage"] = Usage(promptTokens, completionTokens);
        return body;
    }

    JsonObject Envelope(string type) => new()
    {
        ["id"] = id,
        ["object"] = type,
        ["created"] = created,
        ["model"] = model,
        ["system_fingerprint"] = null,
    };

    static JsonObject Usage(int prompt, int completion) => new()
    {
        ["prompt_tokens"] = prompt,
        ["completion_tokens"] = completion,
        ["total_tokens"] = prompt + completion,
    };
}
