using MultiLora.Data.Errors;
using MultiLora.Data.Mixing;
using MultiLora.Data.Model;
using MultiLora.Data.Pipeline;
using MultiLora.Data.Readers;
using MultiLora.Data.Specs;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Pipeline;

public class MixtureSourceTests
{
    [Fact]
    public void Mixture_FromSpec_DrawsTextAtTheRatio_AndResumesFromSavedState()
    {
        using var dir = Fixture.Temp();
        using (var w = new LlavaJsonWriter(dir.File("img.json"), false))
            for (var i = 0; i < 400; i++) w.Write(new Conversation($"i{i}", [new Turn(Speaker.Human, "<image>\nq"), new Turn(Speaker.Gpt, "a")], ImageSource.FromPath("x.png"), "t"));
        using (var w = new LlavaJsonWriter(dir.File("txt.jsonl"), true))
            for (var i = 0; i < 30; i++) w.Write(new Conversation($"t{i}", [new Turn(Speaker.Human, "q"), new Turn(Speaker.Gpt, "a")], null, "t"));
        File.WriteAllText(dir.File("mix.yaml"), "text_mix: 0.2\nseed: 5\ndatasets:\n  - files: [img.json]\n  - files: [txt.jsonl]\n    kind: text\n    weight: 0.5\n");

        var source = MixtureSource.Load(SpecLoader.LoadMixture(dir.File("mix.yaml")), new DataErrorReport());
        var sampler = source.CreateSampler();
        var epoch = source.Epoch(sampler, 0).ToList();

        Assert.Equal(15, source.TextOnly.Count); // weight 0.5 keeps a seeded half
        Assert.Equal(400, epoch.Count(p => p.Conversation.HasImage));
        Assert.Equal(99, epoch.Count(p => !p.Conversation.HasImage)); // 499 draws: the fewest whose non-text share reaches 400
        var resumed = source.ResumeFrom(sampler, new SamplerState(0, 123)).ToList();
        Assert.Equal(epoch.Skip(123).Select(p => p.Conversation.Id), resumed.Select(p => p.Conversation.Id));
        Assert.Equal(Path.GetDirectoryName(dir.File("img.json")), source.Main[0].ImageRoot);
    }

    [Fact]
    public void TextOnlyRecordsInsideAnImageFile_AreDrawnAtTheRatio_OrKeptInMainWithoutTextMix()
    {
        using var dir = Fixture.Temp();
        using (var w = new LlavaJsonWriter(dir.File("mix665k-like.json"), false))
            for (var i = 0; i < 100; i++)
                w.Write(new Conversation($"r{i}", [new Turn(Speaker.Human, "q"), new Turn(Speaker.Gpt, "a")], i % 10 == 0 ? null : ImageSource.FromPath("x.png"), "t"));
        File.WriteAllText(dir.File("a.yaml"), "text_mix: 0.2\ndatasets:\n  - files: [mix665k-like.json]\n");
        File.WriteAllText(dir.File("b.yaml"), "datasets:\n  - files: [mix665k-like.json]\n");

        var mixed = MixtureSource.Load(SpecLoader.LoadMixture(dir.File("a.yaml")), new DataErrorReport());
        var plain = MixtureSource.Load(SpecLoader.LoadMixture(dir.File("b.yaml")), new DataErrorReport());

        Assert.Equal((90, 10), (mixed.Main.Count, mixed.TextOnly.Count));
        Assert.Equal((100, 0), (plain.Main.Count, plain.TextOnly.Count));
        Assert.Equal(100, plain.Epoch(plain.CreateSampler(), 0).Select(p => p.Conversation.Id).Distinct().Count());
    }
}
