using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Model;
using MultiLora.Llava.Training;
using MultiLora.Lora.Peft;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Model;

public sealed class GradientCheckpointingTests
{
    static Dictionary<string, Tensor> LoraGradients(bool checkpointing, bool withImage)
    {
        var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
        PeftAdapter.Load(Fixture.Path("adapter"), model);
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = name.Contains(".lora_", StringComparison.Ordinal);
        model.model.language_model.GradientCheckpointing = checkpointing;
        var ids = Oracle.Load(withImage ? "train_input_ids" : "text_input_ids");
        var labels = withImage ? Oracle.Load("train_labels") : ids.clone();
        var loss = CausalLmLoss.Compute(model.Forward(ids, withImage ? Oracle.Load("pixel_values") : null), labels);
        loss.backward();
        return model.named_parameters().Where(p => p.parameter.requires_grad).ToDictionary(p => p.name, p => p.parameter.grad!.clone());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CheckpointedBlocks_GiveTheSameLoraGradients(bool withImage)
    {
        using var scope = NewDisposeScope();
        var plain = LoraGradients(checkpointing: false, withImage);
        var checkpointed = LoraGradients(checkpointing: true, withImage);
        Assert.Equal(plain.Keys.Order(), checkpointed.Keys.Order());
        Assert.Equal(28, plain.Count);   // 7 targets x 2 layers x (A, B)
        foreach (var (name, grad) in plain)
        {
            Assert.True(grad.abs().sum().item<float>() > 0, $"{name}: no gradient");
            Oracle.Close(checkpointed[name], grad, 1e-6, name);
        }
    }
}
