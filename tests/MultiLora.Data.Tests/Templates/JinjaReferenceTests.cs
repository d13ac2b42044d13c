using System.Text.Json.Nodes;
using MultiLora.Data.Templates.Jinja;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Templates;

/// <summary>
/// Chat templates render exactly what @huggingface/jinja (the hub's Jinja) renders: the templates of the npm
/// tokenizer packages (Llama 3, Llama 3.1, Qwen3, Gemma 3, DeepSeek-V3) and Llama-2-chat, Mistral-instruct,
/// LLaVA-1.5, Vicuna and Qwen2.5 templates, each over 8 conversations (one turn, system prompts, multi-turn,
/// Unicode, image content parts) with and without the generation prompt; where the reference raised, so must we.
/// </summary>
public class JinjaReferenceTests
{
    static readonly Lazy<JsonNode> Reference = new(() => JsonNode.Parse(File.ReadAllText(HubFixtures.Path("templates", "reference.json")))!);

    public static TheoryData<string> TemplateNames()
    {
        var names = new TheoryData<string>();
        foreach (var (name, _) in Reference.Value["templates"]!.AsObject()) names.Add(name);
        return names;
    }

    [Theory, MemberData(nameof(TemplateNames))]
    public void Render_EqualsHuggingFaceJinja(string name)
    {
        var meta = Reference.Value["templates"]![name]!;
        var path = HubFixtures.Path("templates", meta["file"]!.GetValue<string>());
        var template = JinjaTemplate.Parse(File.ReadAllText(path), path);
        var renders = Reference.Value["renders"]!.AsArray().Where(r => r!["template"]!.GetValue<string>() == name).ToList();
        Assert.Equal(16, renders.Count);
        var failures = new List<string>();
        foreach (var r in renders)
        {
            var conversation = r!["conversation"]!.GetValue<string>();
            var context = new Dictionary<string, object?>
            {
                ["messages"] = JinjaValues.FromJson(Reference.Value["conversations"]![conversation]),
                ["add_generation_prompt"] = r["add_generation_prompt"]!.GetValue<bool>(),
                ["bos_token"] = meta["bos_token"]?.GetValue<string>() ?? "",
                ["eos_token"] = meta["eos_token"]?.GetValue<string>() ?? "",
            };
            var expected = r["output"]?.GetValue<string>();
            string? actual;
            string? error = null;
            try { actual = template.Render(context).Text; }
            catch (TemplateException e) { actual = null; error = e.Message; }
            if (expected != actual)
                failures.Add($"{conversation} (generation prompt {r["add_generation_prompt"]}): expected {(expected is null ? "an error (" + r["error"] + ")" : Quote(expected))}, got {(actual is null ? "error " + error : Quote(actual))}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    static string Quote(string s) => "\"" + s.Replace("\n", "\\n") + "\"";
}
