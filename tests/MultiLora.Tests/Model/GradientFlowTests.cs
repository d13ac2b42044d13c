using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Training;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Model;

public sealed class GradientFlowTests
{
    [Fact]
    public void LossOnAnImagePrompt_SendsGradientThroughTheMergedFeaturesToTheProjector()
    {
        using var scope = NewDisposeScope();
        using var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
        foreach (var p in model.parameters()) p.requires_grad = false;
        foreach (var p in model.model.multi_modal_projector.parameters()) p.requires_grad = true;
        var loss = CausalLmLoss.Compute(model.Forward(Oracle.Load("train_input_ids"), Oracle.Load("pixel_values")), Oracle.Load("train_labels"));
        loss.backward();
        foreach (var (name, p) in model.model.multi_modal_projector.named_parameters())
        {
            Assert.NotNull(p.grad);
            Assert.True(p.grad!.abs().sum().item<float>() > 0, $"{name} got no gradient");
        }
    }
}
