using System.Text.Json.Nodes;
using MultiLora.Core.Safetensors;
using MultiLora.Llava.Checkpoints;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Model;

public sealed class CompositionVocabularyTests
{
    [Fact]
    public void ImageTokenPastTheLanguageModelsVocabulary_GrowsBothMatricesWithTheMeanRow()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        // a Llama checkpoint with 400 vocabulary rows: the <image> id 400 lies past it
        string llama = Directory.CreateDirectory(tmp.File("llama")).FullName;
        foreach (var f in Directory.GetFiles(Fixture.Path("parts", "llama")).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(f, Path.Combine(llama, Path.GetFileName(f)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(llama, "config.json")))!.AsObject();
        config["vocab_size"] = 400;
        File.WriteAllText(Path.Combine(llama, "config.json"), config.ToJsonString());
        using (var source = SafetensorsFile.Open(Fixture.Path("parts", "llama", "model.safetensors")))
            SafetensorsWriter.Write(Path.Combine(llama, "model.safetensors"), source.Tensors.Keys.Select(k =>
                KeyValuePair.Create(k, k is "model.embed_tokens.weight" or "lm_head.weight" ? source.Load(k).narrow(0, 0, 400).contiguous() : source.Load(k))));

        using var model = LlavaLoader.Compose(new CompositionSources(Fixture.Path("parts", "clip-vision"), llama, Fixture.Path("model")), imageTokenId: 400, new LoadOptions());
        Assert.Equal(401, model.Config.Text.VocabSize);
        var embed = model.model.language_model.embed_tokens.weight!;
        Oracle.Close(embed[400], embed.narrow(0, 0, 400).mean([0L]), 1e-6, "new <image> row = mean row");

        using var _ = no_grad();
        var logits = model.Forward(Oracle.Load("text_input_ids"), null);
        Oracle.Close(logits.narrow(2, 0, 400), Oracle.Load("text_logits").narrow(2, 0, 400), 1e-4, "text logits over the original vocabulary");
    }
}
