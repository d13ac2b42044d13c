using System.Text.Json;
using MultiLora.Data.Tests.Support;
using MultiLora.Data.Text;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Text;

public class HfTokenizerTests
{
    static readonly HfTokenizer Tokenizer = HfTokenizer.Load(Expected.ModelDir);

    public static TheoryData<string, int[]> ReferenceStrings()
    {
        var data = new TheoryData<string, int[]>();
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture.Path("tokenizer_reference.json")));
        foreach (var e in doc.RootElement.EnumerateArray())
            data.Add(e.GetProperty("text").GetString()!, e.GetProperty("hf_ids").EnumerateArray().Select(i => i.GetInt32()).ToArray());
        return data;
    }

    [Theory, MemberData(nameof(ReferenceStrings))]
    public void Encode_MatchesHfIdsForEveryReferenceString(string text, int[] hfIds) =>
        Assert.Equal(hfIds, Tokenizer.Encode(text, addSpecialTokens: true));

    /// <summary>
    /// Rule: Decode(Encode(s), skipSpecialTokens: false) == s, except that HF's decoder strips one leading
    /// space of the output, so a text starting with spaces comes back with one space fewer.
    /// </summary>
    [Theory, MemberData(nameof(ReferenceStrings))]
    public void Decode_RoundTripsReferenceStrings_LosingOneLeadingSpace(string text, int[] hfIds)
    {
        var expected = text.StartsWith(' ') ? text[1..] : text;
        Assert.Equal(expected, Tokenizer.Decode(Tokenizer.Encode(text, addSpecialTokens: false), skipSpecialTokens: false));
        Assert.Equal(expected, Tokenizer.Decode(hfIds.Skip(1), skipSpecialTokens: false));
    }

    [Fact]
    public void Decode_SkipsSpecialTokensWhenAsked() =>
        Assert.Equal("is not", Tokenizer.Decode(Tokenizer.Encode("</s> is not<image>", addSpecialTokens: true)));

    [Fact]
    public void Decode_IdsPastTheVocabulary_AreSkippedLikeHf() =>
        Assert.Equal("Hello world", Tokenizer.Decode([.. Tokenizer.Encode("Hello", addSpecialTokens: false), 405, .. Tokenizer.Encode(" world", addSpecialTokens: false)[..]]));

    [Fact]
    public void Decode_ByteFallbackPieces_BecomeUtf8()
    {
        const string text = "東京 🙂";
        Assert.Equal(text, Tokenizer.Decode(Tokenizer.Encode(text, addSpecialTokens: true)));
    }

    [Fact]
    public void Settings_ComeFromTheFixtureConfig()
    {
        Assert.Equal((1, 2, 0, 0), (Tokenizer.BosId, Tokenizer.EosId, Tokenizer.UnkId, Tokenizer.PadId));
        Assert.Equal(400, Tokenizer.TokenToId("<image>"));
        Assert.Equal(401, Tokenizer.VocabSize);
        Assert.Equal(PrefixSpaceRule.FirstSegment, Tokenizer.PrefixRule);
    }

    [Fact]
    public void Encode_PromptWithImageTokens_EqualsFixtureInputIds()
    {
        var prompt = Expected.Meta.GetProperty("prompt").GetString()!;
        var copies = Expected.Meta.GetProperty("image_seq_length").GetInt32();
        var expanded = prompt.Replace("<image>", string.Concat(Enumerable.Repeat("<image>", copies)));
        Assert.Equal(Expected.Ids("input_ids"), Tokenizer.Encode(expanded, addSpecialTokens: true));
    }

    [Fact]
    public void EncodeWithSpans_CoversTheCharactersEachTokenCameFrom()
    {
        const string text = "USER: <image>\nWhat ASSISTANT: red";
        var spans = Tokenizer.EncodeWithSpans(text, addSpecialTokens: true);
        Assert.Equal((1, 0, 0), (spans[0].Id, spans[0].Start, spans[0].End));
        var image = spans.Single(s => s.Id == 400);
        Assert.Equal("<image>", text[image.Start..image.End]);
        var rebuilt = string.Concat(spans.Skip(1).Select(s => text[s.Start..s.End]));
        Assert.Equal(text, rebuilt);
    }

    [Fact]
    public void LegacyConfig_StartsANewSentenceAfterEverySpecialToken()
    {
        using var dir = CopyModelWithoutTokenizerJson(legacy: true);
        var legacy = HfTokenizer.Load(dir.Path);
        Assert.Equal(PrefixSpaceRule.EverySegment, legacy.PrefixRule);
        // legacy: "▁" before "\n..." after <image>; non-legacy: none.
        var afterImage = legacy.Encode("<image>x", addSpecialTokens: false);
        Assert.Equal([400, .. Tokenizer.Encode("x", addSpecialTokens: false)], afterImage);
        Assert.Equal([400, .. Tokenizer.Encode("x", addSpecialTokens: false)[1..]], Tokenizer.Encode("<image>x", addSpecialTokens: false)[..]);
    }

    [Fact]
    public void LegacyTokenizerJson_PrependNormalizer_PrefixesEverySegment()
    {
        using var dir = CopyModelWithoutTokenizerJson(legacy: false);
        File.WriteAllText(dir.File("tokenizer.json"), """
            {"added_tokens": [{"id": 400, "content": "<image>", "special": true}],
             "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"}, {"type": "Replace"}]},
             "pre_tokenizer": null}
            """);
        var legacy = HfTokenizer.Load(dir.Path);
        Assert.Equal(PrefixSpaceRule.EverySegment, legacy.PrefixRule);
        // Prepend is unconditional: a segment starting with a space gets a second "▁".
        Assert.Equal([400, .. Tokenizer.Encode("  x", addSpecialTokens: false)], legacy.Encode("<image> x", addSpecialTokens: false));
    }

    [Fact]
    public void Load_MissingTokenizerModel_NamesThePath()
    {
        using var dir = Fixture.Temp();
        var e = Assert.Throws<FileNotFoundException>(() => HfTokenizer.Load(dir.Path));
        Assert.Contains(Path.Combine(dir.Path, "tokenizer.model"), e.Message);
    }

    [Fact]
    public void Load_BrokenConfig_NamesTheFile()
    {
        using var dir = CopyModelWithoutTokenizerJson(legacy: false);
        File.WriteAllText(dir.File("tokenizer_config.json"), "{ not json");
        var e = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(dir.Path));
        Assert.Contains("tokenizer_config.json", e.Message);
    }

    static Fixture.TempDir CopyModelWithoutTokenizerJson(bool legacy)
    {
        var dir = Fixture.Temp();
        File.Copy(Path.Combine(Expected.ModelDir, "tokenizer.model"), dir.File("tokenizer.model"));
        File.WriteAllText(dir.File("tokenizer_config.json"),
            "{\"legacy\": " + (legacy ? "true" : "false")
            + ", \"added_tokens_decoder\": {\"400\": {\"content\": \"<image>\", \"special\": true}, \"2\": {\"content\": \"</s>\", \"special\": true}}}");
        return dir;
    }
}
