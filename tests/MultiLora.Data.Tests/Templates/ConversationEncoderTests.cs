using MultiLora.Data.Model;
using MultiLora.Data.Templates;
using MultiLora.Data.Tests.Support;
using MultiLora.Data.Text;

namespace MultiLora.Data.Tests.Templates;

public class ConversationEncoderTests
{
    static readonly HfTokenizer Tokenizer = HfTokenizer.Load(Expected.ModelDir);
    const int ImageId = 400;
    const int Ignore = EncodedSample.IgnoreIndex;

    static ConversationEncoder Encoder(string template, int imageTokens = 16, int maxLength = 4096) =>
        new(TemplateCatalog.Get(template), Tokenizer, ImageId, imageTokens, maxLength);

    static Conversation Chat(bool image, params (Speaker From, string Value)[] turns) =>
        new("id", turns.Select(t => new Turn(t.From, t.Value)).ToArray(), image ? ImageSource.FromPath("a.png") : null, "train.json#7");

    [Fact]
    public void LlavaHf_ReproducesFixtureTrainIdsAndLabelsExactly()
    {
        var sample = Encoder("llava_hf").Encode(Chat(true, (Speaker.Human, "<image>\nWhat color is the square?"), (Speaker.Gpt, "The square is red.")));
        Assert.Equal(Expected.Ids("train_input_ids"), sample.InputIds);
        Assert.Equal(Expected.Ids("train_labels"), sample.Labels);
        Assert.Equal(16, sample.ImageTokenCount);
    }

    [Fact]
    public void LlavaHf_PromptBuilder_GivesTheFixturePrompt()
    {
        var prompt = PromptBuilder.Build(TemplateCatalog.Get("llava_hf"), [], "What color is the square?", hasImage: true);
        Assert.Equal(Expected.Meta.GetProperty("prompt").GetString(), prompt);
    }

    /// <summary>
    /// Each template's two-turn rendering (written out here by hand from conversation.py) and its label mask,
    /// derived independently of the encoder: the scored tokens are those between the encodings of the text up
    /// to the start of each reply part and up to its end (cut points where SentencePiece pieces cannot merge).
    /// </summary>
    public static TheoryData<string, string, string[]> TwoTurnRenderings() => new()
    {
        { "vicuna_v1", "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. USER: <image>\nWhat is it? ASSISTANT: A red square.</s>USER: Why? ASSISTANT: It is painted.</s>",
          [" A red square.</s>", " It is painted.</s>"] },
        { "llava_hf", "USER: <image>\nWhat is it? ASSISTANT: A red square.</s>USER: Why? ASSISTANT: It is painted.</s>",
          [" A red square.</s>", " It is painted.</s>"] },
        { "llama_2", "[INST] <<SYS>>\nYou are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.\n<</SYS>>\n\n<image>\nWhat is it? [/INST] A red square. </s><s>[INST] Why? [/INST] It is painted. </s>",
          [" A red square. </s>", " It is painted. </s>"] },
        { "chatml", "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<image>\nWhat is it?<|im_end|>\n<|im_start|>assistant\nA red square.<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\nIt is painted.<|im_end|>\n",
          ["A red square.<|im_end|>\n", "It is painted.<|im_end|>\n"] },
    };

    [Theory, MemberData(nameof(TwoTurnRenderings))]
    public void TwoTurns_IdsAndLabelMaskFollowTheTemplate(string template, string expectedText, string[] scoredParts)
    {
        const int imageTokens = 3;
        var sample = Encoder(template, imageTokens).Encode(Chat(true,
            (Speaker.Human, "What is it? <image>"), (Speaker.Gpt, "A red square."), (Speaker.Human, "Why?"), (Speaker.Gpt, "It is painted.")));

        var expanded = expectedText.Replace("<image>", string.Concat(Enumerable.Repeat("<image>", imageTokens)));
        var expectedIds = Tokenizer.Encode(expanded, addSpecialTokens: true);
        Assert.Equal(expectedIds, sample.InputIds);

        var expectedLabels = Enumerable.Repeat(Ignore, expectedIds.Length).ToArray();
        var searchFrom = 0;
        foreach (var part in scoredParts)
        {
            var start = expanded.IndexOf(part, searchFrom, StringComparison.Ordinal);
            var end = start + part.Length;
            searchFrom = end;
            var from = Tokenizer.Encode(expanded[..start], addSpecialTokens: true).Length;
            var to = Tokenizer.Encode(expanded[..end], addSpecialTokens: true).Length;
            for (var i = from; i < to; i++) expectedLabels[i] = expectedIds[i];
        }
        Assert.Equal(expectedLabels, sample.Labels);
        Assert.Equal(imageTokens, sample.InputIds.Count(id => id == ImageId));
    }

    [Fact]
    public void Plain_IsImageThenCaption_ScoringCaptionAndNewline()
    {
        var sample = Encoder("plain", imageTokens: 2).Encode(Chat(true, (Speaker.Human, "Describe.\n<image>"), (Speaker.Gpt, "A red square.")));
        var caption = Tokenizer.Encode("<image><image>A red square.\n", addSpecialTokens: true);
        Assert.Equal(caption, sample.InputIds);
        var expectedLabels = caption.Select((id, i) => i < 3 ? Ignore : id).ToArray();
        Assert.Equal(expectedLabels, sample.Labels);
    }

    [Fact]
    public void ImageWithoutPlaceholder_GoesToTheStartOfTheFirstHumanTurn()
    {
        var encoder = Encoder("llava_hf", imageTokens: 1);
        var withPlaceholder = encoder.Encode(Chat(true, (Speaker.Human, "<image>\nHi"), (Speaker.Gpt, "Yes.")));
        var without = encoder.Encode(Chat(true, (Speaker.Human, "Hi"), (Speaker.Gpt, "Yes.")));
        Assert.Equal(withPlaceholder.InputIds, without.InputIds);
        Assert.Equal(Tokenizer.Encode("USER: <image>\nHi ASSISTANT: Yes.</s>", addSpecialTokens: true), without.InputIds);
    }

    [Fact]
    public void TextOnly_HasNoImageTokens()
    {
        var sample = Encoder("vicuna_v1").Encode(Chat(false, (Speaker.Human, "Hi"), (Speaker.Gpt, "Hello.")));
        Assert.DoesNotContain(ImageId, sample.InputIds);
        Assert.Equal(0, sample.ImageTokenCount);
        Assert.True(sample.LabelTokenCount > 0);
    }

    [Fact]
    public void TwoImagePlaceholders_AreRejectedNamingTheOrigin()
    {
        var e = Assert.Throws<InvalidDataException>(() => Encoder("vicuna_v1").Encode(
            Chat(true, (Speaker.Human, "<image> and <image>"), (Speaker.Gpt, "Two."))));
        Assert.Contains("train.json#7", e.Message);
    }

    [Fact]
    public void TurnsNotAlternating_AreRejectedNamingTheOrigin()
    {
        var e = Assert.Throws<InvalidDataException>(() => Encoder("vicuna_v1").Encode(
            Chat(false, (Speaker.Human, "Hi"), (Speaker.Human, "Again"), (Speaker.Gpt, "Yes."))));
        Assert.Contains("train.json#7", e.Message);
        Assert.Contains("turn 1", e.Message);
    }

    [Fact]
    public void PlaceholderWithoutImage_IsRejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => Encoder("vicuna_v1").Encode(Chat(false, (Speaker.Human, "<image>\nHi"), (Speaker.Gpt, "Yes."))));
        Assert.Contains("train.json#7", e.Message);
    }

    [Fact]
    public void Truncation_CutsTheTailButNeverInsideTheImageTokens()
    {
        var conversation = Chat(true, (Speaker.Human, "What is it?"), (Speaker.Gpt, "A red square."));
        var full = Encoder("llava_hf").Encode(conversation);
        var cut = Encoder("llava_hf", maxLength: full.Length - 3).Encode(conversation);
        Assert.Equal(full.InputIds[..^3], cut.InputIds);
        Assert.Equal(full.Labels[..^3], cut.Labels);

        var imageEnd = Array.LastIndexOf(full.InputIds, ImageId) + 1;
        var e = Assert.Throws<InvalidDataException>(() => Encoder("llava_hf", maxLength: imageEnd - 1).Encode(conversation));
        Assert.Contains("train.json#7", e.Message);
        Assert.Equal(imageEnd, Encoder("llava_hf", maxLength: imageEnd).Encode(conversation).Length);
    }

    [Fact]
    public void SystemTurn_ReplacesTheTemplateSystemPrompt()
    {
        var sample = Encoder("vicuna_v1").Encode(Chat(false, (Speaker.System, "Be brief."), (Speaker.Human, "Hi"), (Speaker.Gpt, "Yes.")));
        Assert.Equal(Tokenizer.Encode("Be brief. USER: Hi ASSISTANT: Yes.</s>", addSpecialTokens: true), sample.InputIds);
    }

    [Fact]
    public void Constructor_RejectsAnImageIdTheTokenizerDoesNotUse()
    {
        var e = Assert.Throws<ArgumentException>(() => new ConversationEncoder(TemplateCatalog.Get("llava_hf"), Tokenizer, 32000, 16, 2048));
        Assert.Contains("32000", e.Message);
    }
}
