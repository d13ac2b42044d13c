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

        Assert.Equal(15, source.Texts.Count); // weight 0.5 keeps a seeded half
        Assert.Equal(400, epoch.Count(p => p.Conversation.HasImage));
        Assert.Equal(99, epoch.Count(p => !p.Conversation.HasImage)); // 499 draws: the fewest whose non-text share reaches 400
        var resumed = source.ResumeFrom(sampler, new SamplerState(0, 123)).ToList();
        Assert.Equal(epoch.Skip(123).Select(p => p.Conversation.Id), resumed.Select(p => p.Conversation.Id));
        Assert.Equal(Path.GetDirectoryName(dir.File("img.json")), source.Images[0].ImageRoot);
    }
}
