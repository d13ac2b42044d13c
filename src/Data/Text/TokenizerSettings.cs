using System.Text.Json;
using System.Text.Json.Nodes;

namespace MultiLora.Data.Text;

/// <summary>
/// What HF keeps beside tokenizer.model: added tokens, the named special tokens, add_bos/add_eos and the
/// prefix-space rule, read from tokenizer_config.json and (when present) tokenizer.json.
/// </summary>
public sealed record TokenizerSettings(
    IReadOnlyList<AddedToken> AddedTokens,
    string BosToken,
    string EosToken,
    string UnkToken,
    string? PadToken,
    bool AddBos,
    bool AddEos,
    PrefixSpaceRule PrefixRule)
{
    public const string ConfigFile = "tokenizer_config.json";
    public const string TokenizerJsonFile = "tokenizer.json";

    // Llama defaults: HF's LlamaTokenizer uses these when the config does not name them.
    const string DefaultBos = "<s>", DefaultEos = "</s>", DefaultUnk = "<unk>";

    public static TokenizerSettings Load(string modelDir)
    {
        var configPath = Path.Combine(modelDir, ConfigFile);
        var jsonPath = Path.Combine(modelDir, TokenizerJsonFile);
        var config = File.Exists(configPath) ? ParseObject(configPath) : new JsonObject();
        var tokenizerJson = File.Exists(jsonPath) ? ParseObject(jsonPath) : null;

        var added = new Dictionary<int, AddedToken>();
        if (tokenizerJson?["added_tokens"] is JsonArray list)
            for (var i = 0; i < list.Count; i++)
            {
                var t = list[i] as JsonObject ?? throw new InvalidDataException($"{jsonPath}: added_tokens[{i}] is not an object");
                var id = t["id"]?.GetValue<int>() ?? throw new InvalidDataException($"{jsonPath}: added_tokens[{i}] has no 'id'");
                var content = t["content"]?.GetValue<string>() ?? throw new InvalidDataException($"{jsonPath}: added_tokens[{i}] has no 'content'");
                added[id] = new AddedToken(id, content, t["special"]?.GetValue<bool>() ?? false);
            }
        if (config["added_tokens_decoder"] is JsonObject decoder)
            foreach (var (key, value) in decoder)
            {
                if (!int.TryParse(key, out var id)) throw new InvalidDataException($"{configPath}: added_tokens_decoder key '{key}' is not an id");
                var content = value?["content"]?.GetValue<string>() ?? throw new InvalidDataException($"{configPath}: added_tokens_decoder['{key}'] has no 'content'");
                added.TryAdd(id, new AddedToken(id, content, value["special"]?.GetValue<bool>() ?? false));
            }

        return new TokenizerSettings(
            added.Values.OrderBy(t => t.Id).ToArray(),
            TokenName(config, "bos_token", configPath) ?? DefaultBos,
            TokenName(config, "eos_token", configPath) ?? DefaultEos,
            TokenName(config, "unk_token", configPath) ?? DefaultUnk,
            TokenName(config, "pad_token", configPath),
            Flag(config, "add_bos_token", configPath) ?? true,
            Flag(config, "add_eos_token", configPath) ?? false,
            tokenizerJson is null ? RuleFromLegacyFlag(config, configPath) : RuleFromTokenizerJson(tokenizerJson, jsonPath));
    }

    /// <summary>tokenizer.json says it directly: a Prepend normalizer (legacy) or a Metaspace pre-tokenizer.</summary>
    static PrefixSpaceRule RuleFromTokenizerJson(JsonObject json, string path)
    {
        if (Components(json["normalizer"]).Any(n => (string?)n["type"] == "Prepend")) return PrefixSpaceRule.EverySegment;
        var metaspace = Components(json["pre_tokenizer"]).FirstOrDefault(n => (string?)n["type"] == "Metaspace");
        if (metaspace is null) return PrefixSpaceRule.Never;
        var scheme = (string?)metaspace["prepend_scheme"];
        if (scheme is null) // tokenizers before 0.14 wrote add_prefix_space instead
            return metaspace["add_prefix_space"]?.GetValue<bool>() == false ? PrefixSpaceRule.Never : PrefixSpaceRule.EverySegmentUnlessSpace;
        return scheme switch
        {
            "first" => PrefixSpaceRule.FirstSegment,
            "always" => PrefixSpaceRule.EverySegmentUnlessSpace,
            "never" => PrefixSpaceRule.Never,
            _ => throw new InvalidDataException($"{path}: pre_tokenizer Metaspace prepend_scheme '{scheme}' is not one of first/always/never"),
        };
    }

    /// <summary>
    /// Without tokenizer.json, transformers converts tokenizer.model itself: legacy (the default when the key
    /// is absent) gives the Prepend normalizer, legacy=false the Metaspace "first" pre-tokenizer.
    /// </summary>
    static PrefixSpaceRule RuleFromLegacyFlag(JsonObject config, string path) =>
        (Flag(config, "add_prefix_space", path) ?? true) == false ? PrefixSpaceRule.Never
        : (Flag(config, "legacy", path) ?? true) ? PrefixSpaceRule.EverySegment : PrefixSpaceRule.FirstSegment;

    static IEnumerable<JsonNode> Components(JsonNode? node)
    {
        if (node is null) yield break;
        yield return node;
        foreach (var key in new[] { "normalizers", "pretokenizers" })
            if (node[key] is JsonArray inner)
                foreach (var child in inner.SelectMany(Components)) yield return child;
    }

    /// <summary>Special tokens appear as a string or as an AddedToken object {"content": ...}.</summary>
    internal static string? TokenName(JsonObject config, string key, string path) => config[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonObject o => (string?)o["content"] ?? throw new InvalidDataException($"{path}: '{key}' object has no 'content'"),
        _ => throw new InvalidDataException($"{path}: '{key}' must be a string or an object with 'content'"),
    };

    internal static bool? Flag(JsonObject config, string key, string path) => config[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw new InvalidDataException($"{path}: '{key}' must be true, false or null"),
    };

    internal static JsonObject ParseObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON ({e.Message})", e);
        }
    }
}
