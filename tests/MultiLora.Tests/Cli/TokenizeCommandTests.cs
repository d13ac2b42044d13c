using System.Text.Json.Nodes;
using MultiLora.Cli;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Cli;

/// <summary>`multilora tokenize`: ids and tokens of texts, lines of a file, or a chat rendered with the folder's template.</summary>
[Collection(CliCollection.Name)]
public sealed class TokenizeCommandTests
{
    static JsonArray RunJson(params string[] args)
    {
        var output = new StringWriter();
        var stdout = Console.Out;
        Console.SetOut(output);
        try { Assert.Equal(0, CliApp.Run(args)); }
        finally { Console.SetOut(stdout); }
        return JsonNode.Parse(output.ToString())!.AsArray();
    }

    [Fact]
    public void Text_GivesTheFixturesHfIds()
    {
        var result = RunJson("tokenize", "--model", Fixture.Path("model"), "--text", "Hello world", "--json");
        var ids = result.Single()!["ids"]!.AsArray().Select(i => i!.GetValue<int>()).ToArray();
        Assert.Equal([1, 344, 350, 358, 358, 359, 349, 368, 314, 358, 363], ids); // tokenizer_reference.json's hf_ids
        Assert.Equal("<s>", result.Single()!["tokens"]![0]!.GetValue<string>());
    }

    [Fact]
    public void FileAndChat_OneObjectPerLine_AndTheRenderedChatTokenized()
    {
        using var tmp = Fixture.Temp();
        File.WriteAllLines(tmp.File("lines.txt"), ["first line", "東京 🙂"]);
        var qwen = HubFixtures.TokenizerDir("qwen3");
        Assert.Equal(2, RunJson("tokenize", "--model", qwen, "--file", tmp.File("lines.txt"), "--json").Count);

        File.WriteAllText(tmp.File("chat.json"), """[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]""");
        var chat = RunJson("tokenize", "--model", qwen, "--chat", tmp.File("chat.json"), "--add-generation-prompt", "--json").Single()!;
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", chat["text"]!.GetValue<string>());
        Assert.Equal(151644, chat["ids"]![0]!.GetValue<int>());
        Assert.NotEqual(0, CliApp.Run(["tokenize", "--model", qwen, "--text", "a", "--file", tmp.File("lines.txt")]));
    }
}
