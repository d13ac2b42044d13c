using System.Text.Json;
using System.Text.Json.Nodes;

namespace MultiLora.Data.Templates;

/// <summary>
/// Finds a model folder's own chat template where transformers keeps it: chat_template.jinja, then
/// chat_template.json ({"chat_template": ...}, a processor's), then tokenizer_config.json's "chat_template"
/// (a string, or a list of {name, template} of which "default" is taken).
/// </summary>
public static class ChatTemplateFiles
{
    public const string JinjaFile = "chat_template.jinja";
    public const string JsonFile = "chat_template.json";
    const string TokenizerConfig = "tokenizer_config.json";

    /// <summary>The template source and where it came from (for error messages), or null when the folder has none.</summary>
    public static (string Source, string Origin)? Find(string dir)
    {
        var jinja = Path.Combine(dir, JinjaFile);
        if (File.Exists(jinja)) return (File.ReadAllText(jinja), jinja);
        foreach (var file in new[] { JsonFile, TokenizerConfig })
        {
            var path = Path.Combine(dir, file);
            if (!File.Exists(path)) continue;
            JsonNode? root;
            try { root = JsonNode.Parse(File.ReadAllText(path)); }
            catch (JsonException e) { throw new InvalidDataException($"{path}: invalid JSON ({e.Message})", e); }
            switch (root?["chat_template"])
            {
                case null: continue;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String: return (v.GetValue<string>(), $"{path} (chat_template)");
                case JsonArray list:
                    foreach (var entry in list)
                        if ((string?)entry?["name"] == "default" && entry?["template"] is JsonValue t)
                            return (t.GetValue<string>(), $"{path} (chat_template 'default')");
                    throw new InvalidDataException($"{path}: chat_template is a list without a 'default' entry");
                default: throw new InvalidDataException($"{path}: chat_template must be a string or a list of {{name, template}}");
            }
        }
        return null;
    }
}
