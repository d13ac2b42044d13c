using MultiLora.Cli;
using MultiLora.Llava.Checkpoints;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Cli;

[Collection(CliCollection.Name)]
public sealed class MergeCommandTests
{
    [Fact]
    public void Merge_WritesAPlainCheckpointThatGivesPeftMergedLogits()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        string output = tmp.File("merged");
        Assert.Equal(0, CliApp.Run(["merge", "--model", Fixture.Path("model"), "--adapter", Fixture.Path("adapter"), "--out", output]));
        using (var saved = MultiLora.Core.Safetensors.SafetensorsCheckpoint.Open(output))
        {
            Assert.Contains("model.language_model.layers.0.self_attn.q_proj.weight", saved.Names);
            Assert.DoesNotContain(saved.Names, n => n.Contains("lora_", StringComparison.Ordinal) || n.Contains("base_layer", StringComparison.Ordinal));
        }
        using var merged = LlavaLoader.Load(output, new LoadOptions());
        using var _ = no_grad();
        Oracle.Close(merged.Forward(Oracle.Load("input_ids"), Oracle.Load("pixel_values")), Oracle.Load("merged_logits"), 1e-4, "merged checkpoint logits");
    }
}
