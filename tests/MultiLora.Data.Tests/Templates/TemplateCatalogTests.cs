using MultiLora.Data.Model;
using MultiLora.Data.Templates;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Templates;

public class TemplateCatalogTests
{
    [Fact]
    public void BuiltIns_AreLoadedFromTheEmbeddedYaml()
    {
        Assert.Equal(["chatml", "llama_2", "llava_hf", "plain", "vicuna_v1"], TemplateCatalog.Names);
        var vicuna = TemplateCatalog.Get("vicuna_v1");
        Assert.Same(vicuna, TemplateCatalog.Get("llava_v1"));
        Assert.Equal(("USER", "ASSISTANT", " ", "</s>", SeparatorStyle.Two), (vicuna.UserRole, vicuna.AssistantRole, vicuna.Sep, vicuna.Sep2, vicuna.SepStyle));
        Assert.Equal("A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.", vicuna.System);
    }

    [Fact]
    public void UnknownName_ListsTheKnownNames()
    {
        var e = Assert.Throws<ArgumentException>(() => TemplateCatalog.Get("vicuna_v9"));
        Assert.Contains("vicuna_v9", e.Message);
        Assert.Contains("llava_hf", e.Message);
        Assert.Contains("vicuna_v1", e.Message);
    }

    [Fact]
    public void UserYamlFile_WithUnknownKey_IsRejectedNamingTheFile()
    {
        using var dir = Fixture.Temp();
        var path = dir.File("mine.yaml");
        File.WriteAllText(path, "name: mine\nsep_style: two\nsystem: ''\nroles: [U, A]\nsep: ' '\nsep2: '</s>'\nimage_prefix: \"<image>\\n\"\ncolour: blue\n");
        var e = Assert.Throws<InvalidDataException>(() => TemplateCatalog.Get(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void UserYamlFile_IsUsable()
    {
        using var dir = Fixture.Temp();
        var path = dir.File("mine.yaml");
        File.WriteAllText(path, "name: mine\nsep_style: single\nsystem: ''\nroles: [Q, A]\nsep: \"\\n\"\nsep2: ''\nimage_prefix: \"<image>\\n\"\n");
        Assert.Equal("Q: Hi\nA:", PromptBuilder.Build(TemplateCatalog.Get(path), [], "Hi", hasImage: false));
    }

    [Fact]
    public void PromptBuilder_EndsWithTheAssistantPrefixAndKeepsHistory()
    {
        var history = new[] { new Turn(Speaker.Human, "Hi"), new Turn(Speaker.Gpt, "Hello.") };
        Assert.Equal("[INST] <<SYS>>\n" + TemplateCatalog.Get("llama_2").System + "\n<</SYS>>\n\n<image>\nHi [/INST] Hello. </s><s>[INST] Why? [/INST]",
                     PromptBuilder.Build(TemplateCatalog.Get("llama_2"), history, "Why?", hasImage: true));
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n",
                     PromptBuilder.Build(TemplateCatalog.Get("chatml"), [], "Why?", hasImage: false));
        Assert.Equal("<image>", PromptBuilder.Build(TemplateCatalog.Get("plain"), [], "Describe it.", hasImage: true));
    }
}
