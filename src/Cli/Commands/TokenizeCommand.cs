using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiLora.Data.Model;
using MultiLora.Data.Templates;
using MultiLora.Data.Templates.Jinja;
using MultiLora.Data.Text;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>
/// `multilora tokenize --model DIR [--text T | --file F | --chat FILE.json] [--json]`: the ids and pieces the
/// model folder's tokenizer gives (tokenizer.json or tokenizer.model, as every other command loads it); with
/// --chat, a transformers-style message list rendered through the folder's chat template first.
/// </summary>
static class TokenizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A model or tokenizer folder.", Required = true };
        var text = new Option<string?>("--text") { Description = "One text to tokenize." };
        var file = new Option<string?>("--file") { Description = "A file with one text per line." };
        var chat = new Option<string?>("--chat") { Description = "A JSON list of {role, content} messages (as transformers' apply_chat_template takes them): rendered with the chat template, then tokenized." };
        var template = new Option<string?>("--template") { Description = "Template for --chat (default: the folder's chat_template, else llava_hf)." };
        var generationPrompt = new Option<bool>("--add-generation-prompt") { Description = "With --chat: end with the assistant's turn header." };
        var noSpecial = new Option<bool>("--no-special-tokens") { Description = "Do not add the tokenizer's special tokens (BOS) to --text/--file texts." };
        var json = new Option<bool>("--json") { Description = "Print a JSON list, one object per text: text, ids, tokens." };
        var cmd = new Command("tokenize", "Show the token ids and pieces a model's tokenizer gives, for texts or a rendered chat.");
        foreach (var o in new Option[] { model, text, file, chat, template, generationPrompt, noSpecial, json }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            var inputs = new[] { p.GetValue(text) is not null, p.GetValue(file) is not null, p.GetValue(chat) is not null }.Count(x => x);
            if (inputs != 1) throw new ArgumentException("give exactly one of --text, --file or --chat");
            var modelText = ModelText.Load(p.GetValue(model)!, p.GetValue(template), "llava_hf");
            var tokenizer = modelText.Tokenizer;
            List<(string Text, bool Special)> texts;
            if (p.GetValue(chat) is { } chatFile) texts = [(RenderChat(chatFile, modelText.Template, p.GetValue(generationPrompt)), modelText.Template.TokenizerAddsSpecialTokens)];
            else if (p.GetValue(file) is { } path)
            {
                if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
                texts = File.ReadAllLines(path).Select(l => (l, !p.GetValue(noSpecial))).ToList();
            }
            else texts = [(p.GetValue(text)!, !p.GetValue(noSpecial))];

            var results = texts.Select(t => (t.Text, Ids: tokenizer.Encode(t.Text, t.Special))).ToList();
            if (p.GetValue(json))
            {
                var list = new JsonArray(results.Select(r => (JsonNode)new JsonObject
                {
                    ["text"] = r.Text,
                    ["ids"] = new JsonArray(r.Ids.Select(i => (JsonNode)i).ToArray()),
                    ["tokens"] = new JsonArray(r.Ids.Select(i => (JsonNode?)tokenizer.IdToToken(i)).ToArray()),
                }).ToArray());
                Console.WriteLine(list.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
                return 0;
            }
            AnsiConsole.MarkupLineInterpolated($"[grey]{tokenizer.Source}, template {modelText.Template.Name}[/]");
            foreach (var (t, ids) in results)
            {
                AnsiConsole.MarkupLineInterpolated($"[bold]{t}[/]");
                AnsiConsole.MarkupLineInterpolated($"  {ids.Length} ids: {string.Join(' ', ids)}");
                AnsiConsole.MarkupLineInterpolated($"  pieces: {string.Join(" | ", ids.Select(i => TokenPieces.Show(tokenizer, i)))}");
            }
            return 0;
        });
        return cmd;
    }

    static string RenderChat(string path, IChatTemplate template, bool addGenerationPrompt)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: chat file not found", path);
        JsonNode? messages;
        try { messages = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: invalid JSON ({e.Message})", e); }
        if (messages is not JsonArray list) throw new InvalidDataException($"{path}: expected a JSON list of {{role, content}} messages");
        if (template is JinjaChatTemplate jinja) return jinja.RenderMessages(JinjaValues.FromJson(list), addGenerationPrompt).Text;

        // A built-in LLaVA template: the messages as turns; an image part becomes the <image> placeholder.
        var turns = new List<Turn>();
        var hasImage = false;
        for (var i = 0; i < list.Count; i++)
        {
            var m = list[i] as JsonObject ?? throw new InvalidDataException($"{path}: message {i} is not an object");
            var role = (string?)m["role"] ?? throw new InvalidDataException($"{path}: message {i} has no role");
            var speaker = role switch
            {
                "system" => Speaker.System,
                "user" => Speaker.Human,
                "assistant" => Speaker.Gpt,
                _ => throw new InvalidDataException($"{path}: message {i} role '{role}' is not system, user or assistant"),
            };
            var content = m["content"] switch
            {
                JsonValue v => v.GetValue<string>(),
                JsonArray parts => string.Concat(parts.Select(x => (string?)x?["type"] == "image" ? ConversationTemplate.ImageToken : (string?)x?["text"] ?? "")),
                _ => throw new InvalidDataException($"{path}: message {i} has no content"),
            };
            hasImage |= content.Contains(ConversationTemplate.ImageToken, StringComparison.Ordinal);
            turns.Add(new Turn(speaker, content));
        }
        if (turns.Count > 0 && turns[^1].From == Speaker.Human) return template.Prompt(turns[..^1], turns[^1].Value, hasImage);
        return template.Render(new Conversation("chat", turns, hasImage ? ImageSource.FromPath("image") : null, path)).Text;
    }
}
