using System.Text.Json.Nodes;
using MultiLora.Eval.Endpoint;

namespace MultiLora.Eval.Judge;

/// <summary>
/// The judge: chat completions through <see cref="ChatCompletionsClient"/> (retries, timeouts), with replies cached by
/// request hash so a re-run costs nothing.
/// </summary>
public sealed class JudgeClient : IJudge, IDisposable
{
    readonly JudgeOptions _options;
    readonly ChatCompletionsClient _client;
    readonly JudgeCache _cache;

    public JudgeClient(JudgeOptions options)
    {
        _options = options;
        _client = new ChatCompletionsClient(new ChatEndpoint(options.BaseUrl, options.ApiKey, options.Timeout, options.MaxAttempts, options.InitialBackoff));
        _cache = new JudgeCache(options.CacheDir);
    }

    public string Describe => _options.Describe;

    public JudgeReply Complete(JudgeRequest request, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["model"] = _options.Model,
            ["messages"] = new JsonArray(request.Messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray()),
            ["temperature"] = request.Temperature,
            ["max_tokens"] = request.MaxTokens,
        }.ToJsonString();
        var key = JudgeCache.Key(body);
        if (_cache.Get(key) is { } cached) return new JudgeReply(cached, null, true, 0);

        var reply = _client.Complete(body, ct);
        if (reply.Content is not null) _cache.Put(key, reply.Content);
        return new JudgeReply(reply.Content, reply.Error, false, reply.Attempts);
    }

    public void Dispose() => _client.Dispose();
}
