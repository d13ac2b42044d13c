using System.Text.Json;
using System.Text.Json.Nodes;

namespace MultiLora.Llava.Sessions;

/// <summary>
/// generation_config.json's eos_token_id (one id or a list): where transformers stops generating. Llama-3-Instruct
/// lists its end-of-turn &lt;|eot_id|&gt; there besides the tokenizer's eos_token.
/// </summary>
public static class GenerationStops
{
    public const string FileName = "generation_config.json";

    public static IReadOnlyList<int> Read(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return [];
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: invalid JSON ({e.Message})", e); }
        return root?["eos_token_id"] switch
        {
            null => [],
            JsonArray list => list.Select(x => x?.GetValue<int>() ?? throw new InvalidDataException($"{path}: eos_token_id holds a null")).ToArray(),
            JsonValue v when v.TryGetValue<int>(out var id) => [id],
            _ => throw new InvalidDataException($"{path}: eos_token_id must be an id or a list of ids"),
        };
    }
}
