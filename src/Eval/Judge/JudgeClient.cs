using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MultiLora.Eval.Judge;

/// <summary>
/// A plain HttpClient client for POST {base}/chat/completions. Each attempt has its own timeout; timeouts,
/// network errors, 429 and 5xx are retried with exponential backoff; other 4xx and malformed replies fail at once
/// (retrying would not change them). Replies are cached by request hash.
/// </summary>
public sealed class JudgeClient : IJudge, IDisposable
{
    readonly JudgeOptions _options;
    readonly HttpClient _http;
    readonly JudgeCache _cache;

    public JudgeClient(JudgeOptions options)
    {
        _options = options;
        _http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
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

        string lastError = "no attempt made";
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (attempt > 1) ct.WaitHandle.WaitOne(_options.InitialBackoff * Math.Pow(2, attempt - 2)); // backoff, cut short by cancellation
            ct.ThrowIfCancellationRequested();
            var (content, error, retry) = Attempt(body, ct);
            if (content is not null)
            {
                _cache.Put(key, content);
                return new JudgeReply(content, null, false, attempt);
            }
            lastError = error!;
            if (!retry) return new JudgeReply(null, lastError, false, attempt);
        }
        return new JudgeReply(null, $"gave up after {_options.MaxAttempts} attempts: {lastError}", false, _options.MaxAttempts);
    }

    (string? Content, string? Error, bool Retry) Attempt(string body, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.Timeout);
        using var msg = new HttpRequestMessage(HttpMethod.Post, _options.BaseUrl.TrimEnd('/') + "/chat/completions")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (!string.IsNullOrEmpty(_options.ApiKey)) msg.Headers.Authorization = new("Bearer", _options.ApiKey);
        string text;
        HttpStatusCode status;
        try
        {
            using var resp = _http.SendAsync(msg, timeout.Token).GetAwaiter().GetResult();
            status = resp.StatusCode;
            text = resp.Content.ReadAsStringAsync(timeout.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, $"timed out after {_options.Timeout.TotalSeconds:0.###} s", true);
        }
        catch (HttpRequestException e) { return (null, $"request failed ({e.Message})", true); }

        if ((int)status == 429 || (int)status >= 500) return (null, $"HTTP {(int)status}: {Short(text)}", true);
        if ((int)status >= 400) return (null, $"HTTP {(int)status}: {Short(text)}", false);
        try
        {
            var content = JsonNode.Parse(text) is JsonObject root && root["choices"] is JsonArray { Count: > 0 } choices
                          && choices[0]?["message"]?["content"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
            return content is null ? (null, $"malformed reply: no choices[0].message.content in {Short(text)}", false) : (content, null, false);
        }
        catch (JsonException e)
        {
            return (null, $"malformed reply: {e.Message} in {Short(text)}", false);
        }
    }

    static string Short(string s) => s.Length <= 200 ? s : s[..200] + "...";

    public void Dispose() => _http.Dispose();
}
