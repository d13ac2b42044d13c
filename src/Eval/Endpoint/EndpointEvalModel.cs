using System.Text.Json.Nodes;
using MultiLora.Data.Model;

namespace MultiLora.Eval.Endpoint;

/// <summary>
/// The harness's model seam over any OpenAI-compatible chat-completions server (ours, vLLM, a hosted model), as
/// lmms-eval's API models do: each request is one user message (the image as a data: URL part, then the task's
/// prompt), greedy (temperature 0), max_tokens the task's; the server applies its own chat template. Requests of a
/// batch go out concurrently, at most <paramref name="concurrency"/> at a time; the reply is trimmed, as the
/// in-process model's is.
/// </summary>
public sealed class EndpointEvalModel(ChatEndpoint endpoint, string model, int concurrency) : IEvalModel, IDisposable
{
    public const int DefaultConcurrency = 8;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    readonly ChatCompletionsClient _client = new(endpoint);

    public string Describe => $"{model} at {endpoint.BaseUrl}";

    public IReadOnlyList<string> Generate(IReadOnlyList<EvalRequest> batch, CancellationToken ct)
    {
        if (concurrency < 1) throw new ArgumentException($"--concurrency must be at least 1, got {concurrency}");
        var replies = new ChatReply[batch.Count];
        Parallel.For(0, batch.Count, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct },
            i => replies[i] = _client.Complete(Body(batch[i]).ToJsonString(), ct));
        var failed = replies.Select((r, i) => (r, i)).FirstOrDefault(x => x.r.Content is null);
        if (failed.r is not null)
            throw new InvalidOperationException($"{endpoint.BaseUrl}: sample {batch[failed.i].SampleId}: {failed.r.Error}");
        return replies.Select(r => r.Content!.Trim()).ToList();
    }

    JsonObject Body(EvalRequest request)
    {
        JsonNode content = request.Image is null
            ? request.Prompt
            : new JsonArray(
                new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = DataUrl(request.Image, request.SampleId) } },
                new JsonObject { ["type"] = "text", ["text"] = request.Prompt });
        return new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
            ["temperature"] = 0,
            ["max_tokens"] = request.MaxNewTokens,
        };
    }

    static string DataUrl(ImageSource source, string sampleId)
    {
        byte[] bytes = source.Bytes ?? (File.Exists(source.Path) ? File.ReadAllBytes(source.Path!)
            : throw new FileNotFoundException($"sample {sampleId}: image file not found: {source.Path}", source.Path));
        return $"data:{MediaType(bytes)};base64,{Convert.ToBase64String(bytes)}";
    }

    /// <summary>The image type from its first bytes (servers check the data URL's media type).</summary>
    static string MediaType(byte[] b) =>
        b.Length >= 4 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G' ? "image/png"
        : b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF ? "image/jpeg"
        : b.Length >= 4 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F' && b[3] == '8' ? "image/gif"
        : b.Length >= 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P' ? "image/webp"
        : b.Length >= 2 && b[0] == 'B' && b[1] == 'M' ? "image/bmp"
        : "application/octet-stream";

    public void Dispose() => _client.Dispose();
}
