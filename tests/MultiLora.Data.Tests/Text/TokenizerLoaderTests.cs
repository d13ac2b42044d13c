using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using MultiLora.Data.Tests.Support;
using MultiLora.Data.Text;
using MultiLora.Data.Text.Hub;
using MultiLora.Data.Text.Hub.Unicode;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Text;

public class TokenizerLoaderTests
{
    [Fact]
    public void Folder_WithTokenizerJson_LoadsIt_ElseTokenizerModel_ElseNamesTheFolder()
    {
        Assert.IsType<HubTokenizer>(TokenizerLoader.Load(Expected.ModelDir));
        using var dir = Fixture.Temp();
        File.Copy(Path.Combine(Expected.ModelDir, "tokenizer.model"), dir.File("tokenizer.model"));
        File.Copy(Path.Combine(Expected.ModelDir, "tokenizer_config.json"), dir.File("tokenizer_config.json"));
        Assert.IsType<HfTokenizer>(TokenizerLoader.Load(dir.Path));
        using var empty = Fixture.Temp();
        var e = Assert.Throws<FileNotFoundException>(() => TokenizerLoader.Load(empty.Path));
        Assert.Contains(empty.Path, e.Message);
    }

    [Fact]
    public void FixtureTokenizerJson_GivesTheIdsOfHfAndOfTheSentencePiecePath()
    {
        var json = TokenizerLoader.Load(Expected.ModelDir);
        var sentencePiece = HfTokenizer.Load(Expected.ModelDir);
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture.Path("tokenizer_reference.json")));
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var text = e.GetProperty("text").GetString()!;
            var hf = e.GetProperty("hf_ids").EnumerateArray().Select(i => i.GetInt32()).ToArray();
            Assert.Equal(hf, json.Encode(text, addSpecialTokens: true));
            Assert.Equal(hf, sentencePiece.Encode(text, addSpecialTokens: true));
            Assert.Equal(sentencePiece.Decode(hf), json.Decode(hf));
        }
        var prompt = Expected.Meta.GetProperty("prompt").GetString()!.Replace("<image>", string.Concat(Enumerable.Repeat("<image>", 16)));
        Assert.Equal(Expected.Ids("input_ids"), json.Encode(prompt, addSpecialTokens: true));
        Assert.Equal((1, 2, 0), (json.BosId, json.EosId, json.PadId));
    }

    [Theory]
    [InlineData("qwen3", "Hello 東京 🙂 naïve\n\tcode();")]
    [InlineData("llama3", "USER: <|begin_of_text|>What's  up? 12345")]
    [InlineData("llama2", "<s> Hello\nworld </s> 東京")]
    public void EncodeWithSpans_EachTokenCoversTheTextItCameFrom(string name, string text)
    {
        var tokenizer = TokenizerLoader.Load(HubFixtures.TokenizerDir(name));
        var spans = tokenizer.EncodeWithSpans(text, addSpecialTokens: false);
        Assert.Equal(tokenizer.Encode(text, false), spans.Select(s => s.Id));
        var covered = new bool[text.Length];
        foreach (var s in spans)
        {
            Assert.InRange(s.Start, 0, text.Length);
            Assert.InRange(s.End, s.Start, text.Length);
            for (var i = s.Start; i < s.End; i++) covered[i] = true;
            // a token's own text is (part of) what it covers: decoding it alone gives text found in its span
            var piece = ((HubTokenizer)tokenizer).DecodeRaw([s.Id], false).Replace("\uFFFD", "");
            if (piece.Trim().Length > 0 && s.End > s.Start) Assert.Contains(piece.Trim(), text[s.Start..s.End]);
        }
        Assert.All(covered, Assert.True);
    }

    [Fact]
    public void Decode_CleansUpTokenizationSpaces_WhereTheConfigSaysSo()
    {
        var llama3 = (HubTokenizer)TokenizerLoader.Load(HubFixtures.TokenizerDir("llama3"));
        var ids = llama3.Encode("Hi , there . It is n't ?", addSpecialTokens: false);
        Assert.Equal("Hi , there . It is n't ?", llama3.DecodeRaw(ids, true));
        Assert.Equal("Hi, there. It isn't?", llama3.Decode(ids));
    }

    [Fact]
    public void QwenHasNoBos_PadIsItsPadToken_EosIsTheConfigs()
    {
        var qwen = TokenizerLoader.Load(HubFixtures.TokenizerDir("qwen3"));
        Assert.Null(qwen.BosId);
        Assert.Equal(qwen.TokenToId("<|im_end|>"), qwen.EosId);
        Assert.Equal(qwen.TokenToId("<|endoftext|>"), qwen.PadId);
        Assert.Equal(qwen.Encode("hi", false), qwen.Encode("hi", true));
    }

    [Fact]
    public void TruncatedTokenizerJson_IsOneLineNamingFileLineAndByte()
    {
        using var dir = Fixture.Temp();
        var full = File.ReadAllText(Path.Combine(Expected.ModelDir, "tokenizer.json"));
        File.WriteAllText(dir.File("tokenizer.json"), full[..(full.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Matches(new Regex(@"tokenizer\.json: invalid JSON at line \d+, byte \d+"), e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void UnknownPreTokenizer_IsOneLineNamingTheComponentItsPlaceAndTheFile()
    {
        using var dir = Fixture.Temp();
        var json = File.ReadAllText(Path.Combine(Expected.ModelDir, "tokenizer.json"));
        json = json.Replace("\"pre_tokenizer\": {", "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Whitespace\"}]}, \"unused\": {");
        File.WriteAllText(dir.File("tokenizer.json"), json);
        var e = Assert.Throws<NotSupportedException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains(dir.File("tokenizer.json"), e.Message);
        Assert.Contains("pre_tokenizer.pretokenizers[0]: pre-tokenizer 'Whitespace' is not supported", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("e\u0301", "\u00e9", "\u00e9")]
    [InlineData("\u212b", "\u00c5", "\u00c5")]            // ANGSTROM SIGN -> Å (a singleton)
    [InlineData("\ufb01ne", "\ufb01ne", "fine")]          // the fi ligature is a compatibility form
    [InlineData("\u1100\u1161\u11a8", "\uac01", "\uac01")] // Hangul jamo compose
    [InlineData("a\u0323\u0307", "\u1ea1\u0307", "\u1ea1\u0307")] // marks reordered by class, then composed
    [InlineData("\u00bd", "\u00bd", "1\u20442")]
    public void UnicodeNormalization_GivesNfcAndNfkc(string input, string nfc, string nfkc)
    {
        Assert.Equal(nfc, UnicodeNormalization.Normalize(input, System.Text.NormalizationForm.FormC));
        Assert.Equal(nfkc, UnicodeNormalization.Normalize(input, System.Text.NormalizationForm.FormKC));
    }

    /// <summary>The hand-written matcher of the Llama-3 / Qwen2 / GPT-2 patterns agrees with the regex engine wherever that engine is right (no astral chars).</summary>
    [Theory]
    [InlineData(KnownRegexScanner.Llama3)]
    [InlineData(KnownRegexScanner.Qwen2)]
    [InlineData(KnownRegexScanner.Gpt2)]
    public void KnownRegexScanner_MatchesTheRegexEngine(string pattern)
    {
        var scanner = KnownRegexScanner.For(pattern)!;
        var regex = new DotNetRegexPattern(pattern);
        var alphabet = "aZé東ß 123٣½\t\n\r  '’sStTmMdDlLvVeErR.,!?-_()[]{}<>\"#$%&*+/:;=@\\^`|~ \u00a0\u3000\u2009\u0301";
        var random = new Random(14);
        for (var n = 0; n < 3000; n++)
        {
            var text = new string(Enumerable.Range(0, random.Next(0, 24)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            List<(int, int)> a = [], b = [];
            scanner.FindMatches(text, a);
            regex.FindMatches(text, b);
            Assert.True(a.SequenceEqual(b), $"'{text}': scanner {string.Join(",", a)} vs regex {string.Join(",", b)}");
        }
    }
}
