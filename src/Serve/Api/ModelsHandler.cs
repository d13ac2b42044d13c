using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using MultiLora.Serve.Engine;

namespace MultiLora.Serve.Api;

/// <summary>
/// GET /v1/models and /v1/models/{id}: the base model and every loaded adapter, each a model id as in vLLM's LoRA
/// serving ("root": where its weights came from; "parent": the base, for adapters).
/// </summary>
public sealed class ModelsHandler(BatchScheduler scheduler, string baseRoot, DateTimeOffset started)
{
    public Task ListAsync(HttpContext ctx) => ChatCompletionHandler.WriteJson(ctx, 200, new JsonObject
    {
        ["object"] = "list",
        ["data"] = new JsonArray(All().ToArray()),
    });

    public Task GetAsync(HttpContext ctx, string id) =>
        All().FirstOrDefault(m => (string?)m["id"] == id) is { } model
            ? ChatCompletionHandler.WriteJson(ctx, 200, model)
            : throw ChatCompletionHandler.ModelNotFound(id);

    IEnumerable<JsonObject> All()
    {
        yield return Model(scheduler.BaseModelId, started, baseRoot, null);
        foreach (var a in scheduler.Adapters) yield return Model(a.Name, a.Created, a.Dir, scheduler.BaseModelId);
    }

    static JsonObject Model(string id, DateTimeOffset created, string root, string? parent) => new()
    {
        ["id"] = id,
        ["object"] = "model",
        ["created"] = created.ToUnixTimeSeconds(),
        ["owned_by"] = "multilora",
        ["root"] = root,
        ["parent"] = parent,
    };
}
