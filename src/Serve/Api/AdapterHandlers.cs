using System.Text.Json;
using Microsoft.AspNetCore.Http;
using MultiLora.Serve.Engine;

namespace MultiLora.Serve.Api;

/// <summary>
/// vLLM's runtime LoRA endpoints: POST /v1/load_lora_adapter {"lora_name", "lora_path"} and
/// POST /v1/unload_lora_adapter {"lora_name"}, answered as vLLM answers them (plain-text success lines,
/// OpenAI-shaped errors). An adapter still used by queued or running requests is not unloaded (409).
/// </summary>
public sealed class AdapterHandlers(BatchScheduler scheduler)
{
    public async Task LoadAsync(HttpContext ctx, RequestLabel label)
    {
        using var doc = await ReadObject(ctx);
        string name = Field(doc.RootElement, "lora_name");
        string path = Field(doc.RootElement, "lora_path");
        if (!Directory.Exists(path)) throw ApiException.BadRequest("lora_path", $"{path}: folder not found");
        try { await scheduler.LoadAdapterAsync(name, path); }
        catch (AdapterConflictException e) { throw new ApiException(400, e.Message, "lora_name"); }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ApiException(400, $"loading adapter '{name}' from {path} failed: {e.Message}", "lora_path");
        }
        label.Model = name;
        await Text(ctx, $"Success: LoRA adapter '{name}' added successfully.");
    }

    public async Task UnloadAsync(HttpContext ctx, RequestLabel label)
    {
        using var doc = await ReadObject(ctx);
        string name = Field(doc.RootElement, "lora_name");
        try { await scheduler.UnloadAdapterAsync(name); }
        catch (AdapterConflictException e) { throw new ApiException(e.NotFound ? 404 : 409, e.Message, "lora_name", code: e.NotFound ? "model_not_found" : "adapter_in_use"); }
        label.Model = name;
        await Text(ctx, $"Success: LoRA adapter '{name}' removed successfully.");
    }

    static async Task<JsonDocument> ReadObject(HttpContext ctx)
    {
        JsonDocument doc;
        try { doc = await JsonDocument.ParseAsync(ctx.Request.Body, default, ctx.RequestAborted); }
        catch (JsonException e) { throw new ApiException(400, $"the request body is not valid JSON: {e.Message}"); }
        if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc;
        doc.Dispose();
        throw new ApiException(400, "the request body must be a JSON object");
    }

    static string Field(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) throw ApiException.BadRequest(name, "required");
        if (v.ValueKind != JsonValueKind.String || v.GetString() is not { Length: > 0 } s) throw ApiException.BadRequest(name, "expected a non-empty string");
        return s;
    }

    static async Task Text(HttpContext ctx, string text)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        await ctx.Response.WriteAsync(text);
    }
}
