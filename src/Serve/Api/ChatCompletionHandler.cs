using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using MultiLora.Serve.Engine;

namespace MultiLora.Serve.Api;

/// <summary>
/// POST /v1/chat/completions: validate, build the prompt with the model's template, check it fits the context,
/// load the image, hand the job to the scheduler, then answer with one JSON object or a server-sent event stream.
/// </summary>
public sealed class ChatCompletionHandler(BatchScheduler scheduler, ImageLoader images)
{
    /// <summary>Handles one request; <paramref name="label"/> gets the model id for the metrics once it is known.</summary>
    public async Task HandleAsync(HttpContext ctx, RequestLabel label)
    {
        var ct = ctx.RequestAborted;
        label.Model = "unknown";
        ChatRequest request;
        using (var doc = await ReadJson(ctx, ct)) request = ChatRequestParser.Parse(doc.RootElement);
        if (!scheduler.Knows(request.Model)) throw ModelNotFound(request.Model);
        label.Model = request.Model;

        var prompt = PromptAssembler.Prepare(request, scheduler);
        int maxTokens = FitContext(request, prompt.Ids.Length);
        var image = prompt.Image is null ? null : await images.LoadAsync(prompt.Image, ct);

        var job = new GenerationJob
        {
            Id = Guid.NewGuid().ToString("N"),
            Model = request.Model,
            PromptIds = prompt.Ids,
            Image = image,
            Sampling = new Sampling(request.Temperature, request.TopP, request.Seed),
            MaxTokens = maxTokens,
            Stop = request.Stop,
            IgnoreEos = request.IgnoreEos,
            Cancellation = ct,
        };
        switch (scheduler.TrySubmit(job))
        {
            case SubmitResult.QueueFull:
                ctx.Response.Headers.RetryAfter = "1";
                throw new ApiException(429, $"the server is at capacity ({scheduler.InFlight} requests running or queued): retry later", type: "requests", code: "rate_limit_exceeded");
            case SubmitResult.ShuttingDown:
                throw new ApiException(503, "the server is shutting down", type: ApiException.ServerError, code: "server_shutting_down");
            case SubmitResult.UnknownModel:
                throw ModelNotFound(request.Model);
        }

        var responses = ChatResponses.Start(request.Model);
        if (request.Stream) await StreamAsync(ctx, job, request, responses, label);
        else await CollectAsync(ctx, job, request, responses, label);
    }

    /// <summary>max_tokens, or what is left of the context; a prompt plus max_tokens past the context is refused naming both.</summary>
    int FitContext(ChatRequest request, int promptTokens)
    {
        int context = scheduler.ContextLength;
        if (promptTokens >= context)
            throw ApiException.BadRequest("messages", $"the prompt is {promptTokens} tokens, but the model's context length is {context} tokens");
        if (request.MaxTokens is not { } max) return context - promptTokens;
        if (promptTokens + max > context)
            throw ApiException.BadRequest(request.MaxTokensParam,
                $"the prompt's {promptTokens} tokens plus {request.MaxTokensParam} {max} = {promptTokens + max} tokens exceed the model's context length of {context} tokens");
        return max;
    }

    static async Task<JsonDocument> ReadJson(HttpContext ctx, CancellationToken ct)
    {
        try { return await JsonDocument.ParseAsync(ctx.Request.Body, default, ct); }
        catch (JsonException e) { throw new ApiException(400, $"the request body is not valid JSON: {e.Message}"); }
    }

    public static ApiException ModelNotFound(string model) =>
        new(404, $"The model `{model}` does not exist (see /v1/models).", "model", code: "model_not_found");

    static async Task CollectAsync(HttpContext ctx, GenerationJob job, ChatRequest request, ChatResponses responses, RequestLabel label)
    {
        await foreach (var e in job.Events.ReadAllAsync(CancellationToken.None))
        {
            switch (e)
            {
                case TextPiece:
                    break;
                case JobFinished done:
                    await WriteJson(ctx, 200, responses.Completion(done.Text, done.FinishReason, done.PromptTokens, done.TokenIds, request.ReturnTokenIds, job.PromptIds));
                    return;
                case JobFailed failed:
                    if (ctx.RequestAborted.IsCancellationRequested) { label.ClientGone = true; return; }
                    throw new ApiException(500, failed.Message, type: ApiException.ServerError);
            }
        }
    }

    static async Task StreamAsync(HttpContext ctx, GenerationJob job, ChatRequest request, ChatResponses responses, RequestLabel label)
    {
        var ct = ctx.RequestAborted;
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/event-stream; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            await Event(ctx, responses.Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null, request.IncludeUsage), ct);
            await foreach (var e in job.Events.ReadAllAsync(CancellationToken.None))
            {
                switch (e)
                {
                    case TextPiece piece:
                        await Event(ctx, responses.Chunk(new JsonObject { ["content"] = piece.Text }, null, request.IncludeUsage), ct);
                        break;
                    case JobFinished done:
                        await Event(ctx, responses.Chunk([], done.FinishReason, request.IncludeUsage), ct);
                        if (request.IncludeUsage) await Event(ctx, responses.UsageChunk(done.PromptTokens, done.TokenIds.Count), ct);
                        await Done(ctx, ct);
                        return;
                    case JobFailed failed:
                        if (ct.IsCancellationRequested) { label.ClientGone = true; return; }
                        // headers are gone: the error travels as an event, as OpenAI-compatible servers send it
                        await Event(ctx, ApiException.Body(failed.Message, ApiException.ServerError, null, null), ct);
                        await Done(ctx, ct);
                        label.StreamFailed = true;
                        return;
                }
            }
        }
        catch (Exception e) when ((e is OperationCanceledException or IOException) && ct.IsCancellationRequested)
        {
            label.ClientGone = true;   // the job sees the same token and leaves the batch at the next step
        }
    }

    static async Task Event(HttpContext ctx, JsonObject data, CancellationToken ct)
    {
        await ctx.Response.WriteAsync($"data: {data.ToJsonString()}\n\n", ct);
        await ctx.Response.Body.FlushAsync(ct);
    }

    static async Task Done(HttpContext ctx, CancellationToken ct)
    {
        await ctx.Response.WriteAsync("data: [DONE]\n\n", ct);
        await ctx.Response.Body.FlushAsync(ct);
    }

    public static async Task WriteJson(HttpContext ctx, int status, JsonObject body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body.ToJsonString(), CancellationToken.None);
    }
}

/// <summary>What the metrics need to know about a request once it is answered.</summary>
public sealed class RequestLabel
{
    /// <summary>The base or adapter id once a request named a known one; "unknown" for one that did not, "none" for other routes (label values stay bounded).</summary>
    public string Model { get; set; } = "none";
    public bool ClientGone { get; set; }
    public bool StreamFailed { get; set; }
}
