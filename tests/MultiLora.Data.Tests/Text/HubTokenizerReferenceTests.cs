using System.Text;
using MultiLora.Data.Text;
using MultiLora.Data.Text.Hub;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Text;

/// <summary>
/// Ids and decodes equal Hugging Face tokenizers' (Rust, 0.22) on real hub tokenizers, for 2,200 strings each
/// (ASCII, whitespace runs, newlines/tabs, digits, code, CJK, emoji, accents, other scripts, special tokens in
/// text, the empty string). Failures list the first differing strings.
/// </summary>
public class HubTokenizerReferenceTests
{
    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("llama2")]
    public void EncodeAndDecode_EqualHuggingFaceTokenizers(string name)
    {
        var tokenizer = Assert.IsType<HubTokenizer>(TokenizerLoader.Load(HubFixtures.TokenizerDir(name)));
        var cases = HubFixtures.TokenizerCases(name);
        Assert.True(cases.Count >= 2000, $"{cases.Count} reference strings");
        var failures = new List<string>();
        foreach (var c in cases)
        {
            void Check(string what, object expected, object actual)
            {
                if (!Equals(expected, actual) && failures.Count < 10) failures.Add($"{what} of {Show(c.Text)}: expected {Show(expected)}, got {Show(actual)}");
            }
            Check("ids", string.Join(',', c.Ids), string.Join(',', tokenizer.Encode(c.Text, addSpecialTokens: false)));
            Check("ids with special tokens", string.Join(',', c.IdsSpecial), string.Join(',', tokenizer.Encode(c.Text, addSpecialTokens: true)));
            Check("decode", c.Decoded, tokenizer.DecodeRaw(c.Ids, skipSpecialTokens: false));
            Check("decode skipping special tokens", c.DecodedSkip, tokenizer.DecodeRaw(c.IdsSpecial, skipSpecialTokens: true));
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>
    /// Llama 3 and Qwen run through <c>ByteLevelFastPath</c>; wrapping their pre-tokenizer in one more Sequence
    /// sends them through the general component chain, which must give the same ids.
    /// </summary>
    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    public void GeneralComponentChain_GivesTheIdsOfTheByteLevelFastPath(string name)
    {
        using var dir = Fixture.Temp();
        var source = HubFixtures.TokenizerDir(name);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(source, "tokenizer.json")))!;
        var pre = json["pre_tokenizer"]!.DeepClone();
        json["pre_tokenizer"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "Sequence", ["pretokenizers"] = new System.Text.Json.Nodes.JsonArray(pre) };
        File.WriteAllText(dir.File("tokenizer.json"), json.ToJsonString());
        File.Copy(Path.Combine(source, "tokenizer_config.json"), dir.File("tokenizer_config.json"));
        var general = TokenizerLoader.Load(dir.Path);
        foreach (var c in HubFixtures.TokenizerCases(name))
            Assert.True(c.Ids.SequenceEqual(general.Encode(c.Text, addSpecialTokens: false)), $"ids of {Show(c.Text)}");
    }

    static string Show(object o)
    {
        var s = o.ToString()!;
        var b = new StringBuilder("\"");
        foreach (var ch in s) b.Append(ch < 0x20 ? $"\\x{(int)ch:x2}" : ch.ToString());
        return b.Append('"').ToString();
    }
}
