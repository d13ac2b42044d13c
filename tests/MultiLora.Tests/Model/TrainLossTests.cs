using MultiLora.Llava.Training;
using static TorchSharp.torch;

namespace MultiLora.Tests.Model;

public sealed class TrainLossTests(TinyLlava tiny) : IClassFixture<TinyLlava>
{
    [Fact]
    public void TrainLoss_MatchesTransformersWithinOneInHundredThousand()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = tiny.Model.Forward(Oracle.Load("train_input_ids"), Oracle.Load("pixel_values"));
        var loss = CausalLmLoss.Compute(logits, Oracle.Load("train_labels")).item<float>();
        float expected = Oracle.Load("train_loss").item<float>();
        Assert.True(Math.Abs(loss - expected) <= 1e-5, $"loss {loss} vs transformers {expected}");
    }
}
