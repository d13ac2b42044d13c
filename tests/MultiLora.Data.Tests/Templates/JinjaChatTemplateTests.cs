using MultiLora.Data.Model;
using MultiLora.Data.Templates;
using MultiLora.Data.Templates.Jinja;
using MultiLora.Data.Text;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Templates;

public class JinjaChatTemplateTests
{
    static readonly Dictionary<string, string?> Specials = new() { ["bos_token"] = "<s>", ["eos_token"] = "</s>" };

    static JinjaChatTemplate Load(string name, IReadOnlyDictionary<string, string?>? specials = null)
    {
        var path = HubFixtures.Path("templates", name + ".jinja");
        return new JinjaChatTemplate(name, File.ReadAllText(path), path, specials ?? Specials);
    }

    static Conversation Chat(bool image, params (Speaker, string)[] turns) =>
        new("c", turns.Select(t => new Turn(t.Item1, t.Item2)).ToList(), image ? ImageSource.FromPath("x.png") : null, "data.json#3");

    static List<string> Scored(RenderedConversation r) => r.ScoredSpans.Select(s => r.Text[s.Start..s.End]).ToList();

    [Fact]
    public void GenerationBlocks_MarkExactlyTheAssistantText()
    {
        var llava = Load("llava15");
        var rendered = llava.Render(Chat(true, (Speaker.Human, "<image>\nWhat is it?"), (Speaker.Gpt, "A square."), (Speaker.Human, "Colour?"), (Speaker.Gpt, "Red.")));
        Assert.Equal("USER: <image>\nWhat is it? ASSISTANT: A square. USER: Colour? ASSISTANT: Red. ", rendered.Text);
        Assert.Equal(["A square. ", "Red. "], Scored(rendered));
        Assert.Equal("USER: <image>\nHi ASSISTANT:", llava.Prompt([], "Hi", hasImage: true));
    }

    [Fact]
    public void WithoutGenerationBlocks_TheReplyAndItsEndOfTurnAreScored()
    {
        var qwen = Load("qwen2_5", new Dictionary<string, string?> { ["eos_token"] = "<|im_end|>" });
        var rendered = qwen.Render(Chat(false, (Speaker.System, "Be brief."), (Speaker.Human, "2+2?"), (Speaker.Gpt, "4"), (Speaker.Human, "3+3?"), (Speaker.Gpt, "6")));
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\n3+3?<|im_end|>\n<|im_start|>assistant\n6<|im_end|>\n", rendered.Text);
        Assert.Equal(["4<|im_end|>\n", "6<|im_end|>\n"], Scored(rendered));

        var mistral = Load("mistral_instruct");
        Assert.Equal(["Hello there</s>"], Scored(mistral.Render(Chat(false, (Speaker.Human, "Hi"), (Speaker.Gpt, "Hello there")))));
    }

    [Fact]
    public void ATemplateThatAlwaysAppendsTheAssistantHeader_DoesNotScoreIt()
    {
        var llama3 = Load("llama3", new Dictionary<string, string?> { ["bos_token"] = "<|begin_of_text|>" });
        var rendered = llama3.Render(Chat(false, (Speaker.Human, "Hi"), (Speaker.Gpt, "Hello.")));
        Assert.EndsWith("Hello.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", rendered.Text);
        var scored = Assert.Single(Scored(rendered));
        Assert.StartsWith("Hello.<|eot_id|>", scored);
        Assert.DoesNotContain("assistant", scored);
    }

    [Fact]
    public void StringTemplates_GetTheImageAsLlavaWritesIt_PartTemplatesAsParts()
    {
        Assert.False(Load("qwen2_5").TakesContentParts);
        Assert.True(Load("gemma3").TakesContentParts);
        Assert.Contains("<|im_start|>user\n<image>\nWhat is shown?<|im_end|>", Load("qwen2_5").Prompt([], "What is shown? <image>", hasImage: true));
        Assert.Contains("<start_of_turn>user\n<start_of_image>What is shown?<end_of_turn>", Load("gemma3").Prompt([], "What is shown?", hasImage: true));
    }

    [Fact]
    public void EncoderWithAChatTemplate_LabelsTheRepliesAndAddsNoBos()
    {
        var qwen = ModelText.Load(HubFixtures.TokenizerDirWithImageToken("qwen3"), null, "vicuna_v1");
        Assert.Equal(JinjaChatTemplate.CheckpointName, qwen.Template.Name);
        var tokenizer = qwen.Tokenizer;
        var imageId = tokenizer.TokenToId("<image>")!.Value;
        var encoder = new ConversationEncoder(qwen.Template, tokenizer, imageId, imageTokensPerImage: 4, maxLength: 512);
        var sample = encoder.Encode(Chat(true, (Speaker.Human, "<image>\nName a colour."), (Speaker.Gpt, "Blue."), (Speaker.Human, "Another?"), (Speaker.Gpt, "Red.")));
        Assert.Equal(tokenizer.TokenToId("<|im_start|>"), sample.InputIds[0]);
        Assert.Equal(4, sample.InputIds.Count(i => i == imageId));
        var labelled = sample.Labels.Where(l => l != EncodedSample.IgnoreIndex).ToArray();
        // Qwen3's template writes an empty think block before the last reply only: scaffolding, not scored.
        Assert.Equal("Blue.<|im_end|>\nRed.<|im_end|>\n", tokenizer.Decode(labelled, skipSpecialTokens: false));
    }

    [Fact]
    public void Precedence_ExplicitThenTheFoldersChatTemplateThenTheDefault()
    {
        var dir = HubFixtures.TokenizerDir("qwen3");
        var tokenizer = TokenizerLoader.Load(dir);
        Assert.Equal("chatml", ChatTemplates.Resolve("chatml", dir, "vicuna_v1", tokenizer).Name);
        Assert.Equal(JinjaChatTemplate.CheckpointName, ChatTemplates.Resolve(null, dir, "vicuna_v1", tokenizer).Name);
        var llama2 = HubFixtures.TokenizerDir("llama2"); // its config has no chat_template
        Assert.Equal("vicuna_v1", ChatTemplates.Resolve(null, llama2, "vicuna_v1", TokenizerLoader.Load(llama2)).Name);
        Assert.Throws<FileNotFoundException>(() => ChatTemplates.Resolve(JinjaChatTemplate.CheckpointName, llama2, "vicuna_v1", TokenizerLoader.Load(llama2)));
        var file = HubFixtures.Path("templates", "mistral_instruct.jinja");
        Assert.Equal(file, ChatTemplates.Resolve(file, dir, "vicuna_v1", tokenizer).Name);
    }

    [Fact]
    public void SyntaxError_IsOneLineNamingFileLineAndColumn()
    {
        using var dir = Fixture.Temp();
        var path = dir.File("chat_template.jinja");
        File.WriteAllText(path, "{% for m in messages %}\n{{ m['content'] }\n{% endfor %}");
        var e = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse(File.ReadAllText(path), path));
        Assert.StartsWith($"{path}:2:", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        var unclosed = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{% if x %}never closed", "t.jinja"));
        Assert.Contains("expected {% elif %} or {% else %} or {% endif %}", unclosed.Message);
    }

    [Fact]
    public void RaiseException_IsOneLineWithTheMessageFileAndPositionOfTheCall()
    {
        var mistral = Load("mistral_instruct");
        var e = Assert.Throws<TemplateRaisedException>(() => mistral.Prompt([new Turn(Speaker.System, "Be nice.")], "Hi", hasImage: false));
        Assert.Equal("Conversation roles must alternate user/assistant/user/assistant/...", e.Raised);
        Assert.StartsWith(HubFixtures.Path("templates", "mistral_instruct.jinja") + ":1:", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("{{ 'a' ~ 1 ~ true ~ 2.0 }}", "a1true2.0")]
    [InlineData("{% set ns = namespace(n=0) %}{% for i in range(4) if i is odd %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "4")]
    [InlineData("{% macro t(x, y='!') %}[{{ x }}{{ y }}]{% endmacro %}{{ t('a') }}{{ t('b', y='?') }}", "[a!][b?]")]
    [InlineData("{%- for k, v in {'a': 1, 'b': [1, 2]} | items -%}\n  {{ k }}={{ v | tojson }};\n{%- endfor %}", "a=1;b=[1, 2];")]
    [InlineData("{{ messages[::-1] | map(attribute='role') | join(',') }}|{{ messages | length }}|{{ (messages | last).content | upper }}", "assistant,user|2|YO")]
    [InlineData("{% for m in messages %}{{ loop.index }}/{{ loop.length }}{% if not loop.last %},{% endif %}{% endfor %}", "1/2,2/2")]
    [InlineData("{{ '  x ' | trim }}|{{ 'a,b'.split(',') | tojson }}|{{ x | default('d') }}|{{ 'Hi'.startswith(('x', 'H')) }}", "x|[\"a\", \"b\"]|d|true")]
    [InlineData("{% if messages[0].role is defined and messages[5] is undefined and none is none and 'a' is string %}ok{% endif %}", "ok")]
    public void Subset_RendersTheConstructsTemplatesUse(string source, string expected)
    {
        var messages = JinjaValues.FromJson(System.Text.Json.Nodes.JsonNode.Parse("""[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]"""));
        Assert.Equal(expected, JinjaTemplate.Parse(source, "t").Render(new Dictionary<string, object?> { ["messages"] = messages }).Text);
    }
}
