using System.Text.Json.Nodes;
using MultiLora.Core.Safetensors;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Model;

/// <summary>Key layouts a llava checkpoint may be stored in.</summary>
public enum Layout
{
    /// <summary>As the fixture stores it.</summary>
    AsIs,
    /// <summary>llava-hf on the hub: vision_tower.vision_model.*, multi_modal_projector.*, language_model.model.*, language_model.lm_head.weight.</summary>
    Hub,
    /// <summary>transformers' runtime names: model.vision_tower.vision_model.*, model.multi_modal_projector.*, model.language_model.*, lm_head.weight.</summary>
    Current,
}

/// <summary>Rewrites the fixture checkpoint into other layouts, shardings, dtypes and configs.</summary>
public static class FixtureVariants
{
    /// <param name="drop">keys (in the written layout) left out of the checkpoint</param>
    public static string Write(string dir, Layout layout, int shards = 1, ScalarType? dtype = null, Action<JsonObject>? editConfig = null, Func<string, bool>? drop = null)
    {
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixture.Path("model")).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), overwrite: true);
        if (editConfig is not null)
        {
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
            editConfig(config);
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        }

        using var source = SafetensorsFile.Open(Fixture.Path("model", "model.safetensors"));
        var tensors = source.Tensors.Keys.Order(StringComparer.Ordinal)
            .Where(k => drop?.Invoke(Rename(k, layout)) != true)
            .Select(k => KeyValuePair.Create(Rename(k, layout), source.Load(k, dtype))).ToList();
        try
        {
            WriteShards(dir, tensors, shards);
            return dir;
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    /// <summary>model.safetensors, or <paramref name="shards"/> files and the index transformers writes (tensors dealt round-robin).</summary>
    public static void WriteShards(string dir, IReadOnlyList<KeyValuePair<string, Tensor>> tensors, int shards)
    {
        if (shards == 1)
        {
            SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), tensors, SafetensorsWriter.PtMetadata);
            return;
        }
        var weightMap = new JsonObject();
        for (int s = 0; s < shards; s++)
        {
            string name = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var part = tensors.Where((_, i) => i % shards == s).ToList();
            SafetensorsWriter.Write(Path.Combine(dir, name), part, SafetensorsWriter.PtMetadata);
            foreach (var (k, _) in part) weightMap[k] = name;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = 0 }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), index.ToJsonString());
    }

    /// <summary>The fixture's keys are vision_tower.*, multi_modal_projector.*, language_model.model.*, language_model.lm_head.weight.</summary>
    static string Rename(string key, Layout layout)
    {
        if (layout == Layout.AsIs) return key;
        string Part(string prefix, out string rest)
        {
            rest = key[prefix.Length..];
            return prefix;
        }
        if (key.StartsWith("vision_tower.", StringComparison.Ordinal))
        {
            Part("vision_tower.", out var rest);
            return (layout == Layout.Hub ? "vision_tower.vision_model." : "model.vision_tower.vision_model.") + rest;
        }
        if (key.StartsWith("multi_modal_projector.", StringComparison.Ordinal))
            return layout == Layout.Hub ? key : "model." + key;
        if (key == "language_model.lm_head.weight") return layout == Layout.Hub ? key : "lm_head.weight";
        if (key.StartsWith("language_model.model.", StringComparison.Ordinal))
        {
            Part("language_model.model.", out var rest);
            return (layout == Layout.Hub ? "language_model.model." : "model.language_model.") + rest;
        }
        throw new InvalidOperationException($"unexpected fixture key {key}");
    }
}
