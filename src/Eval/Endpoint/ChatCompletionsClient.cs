using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MultiLora.Eval.Endpoint;

/// <summary>An OpenAI-compatible server: base URL (".../v1"), key, and how patiently to call it.</summary>
public sealed record ChatEndpoint(string BaseUrl, string? ApiKey, TimeSpan Timeout, int MaxAttempts, TimeSpan InitialBackoff);

/// <summary>The reply's text, or why there is none, and how many attempts it took.</summary>
public sealed record ChatReply(string? Content, string? Error, int Attempts);

/// <summary>
/// A plain HttpClient client for POST {base}/chat/completions (the judge's and an evaluated endpoint's). Each attempt has
/// its own timeout; timeouts, network errors, 429 and 5xx are retried with exponential backoff; other 4xx and malformed
/// replies fail at once (retrying would not change them). Thread-safe: one client serves concurrent requests.
/// </summary>
public sealed class ChatCompletionsClient(ChatEndpoint endpoint) : IDisposable
{
    readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };

    public ChatReply Complete(string body, CancellationToken ct)
    {
        string lastError = "no attempt made";
        for (var attempt = 1; attempt <= endpoint.MaxAttempts; attempt++)
        {
            if (attempt > 1) ct.WaitHandle.WaitOne(endpoint.InitialBackoff * Math.Pow(2, attempt - 2)); // backoff, cut short by cancellation
            ct.ThrowIfCancellationRequested();
            var (content, error, retry) = Attempt(body, ct);
            if (content is not null) return new ChatReply(content, null, attempt);
            lastError = error!;
            if (!retry) return new ChatReply(null, lastError, attempt);
        }
        return new ChatReply(null, $"gave up after {endpoint.MaxAttempts} attempts: {lastError}", endpoint.MaxAttempts);
    }

    (string? Content, string? Error, bool Retry) Attempt(string body, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(endpoint.Timeout);
        using var msg = new HttpRequestMessage(HttpMethod.Post, endpoint.BaseUrl.TrimEnd('/') + "/chat/completions")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (!string.IsNullOrEmpty(endpoint.ApiKey)) msg.Headers.Authorization = new("Bearer", endpoint.ApiKey);
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
            return (null, $"timed out after {endpoint.Timeout.TotalSeconds:0.###} s", true);
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
