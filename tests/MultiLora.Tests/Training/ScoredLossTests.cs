using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Training;
using MultiLora.Lora.Peft;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Training;

/// <summary>The loss over scored positions only (LM head on those rows) is the full-logits loss, value and gradients.</summary>
public sealed class ScoredLossTests
{
    [Fact]
    public void Scored_ListsEachPositionWhoseNextLabelCounts()
    {
        const long X = CausalLmLoss.IgnoreIndex;
        long[] labels = [X, X, 5, 6, X, /* row 1 */ X, 7, X, X, 8];
        var (rows, targets) = CausalLmLoss.Scored(labels, batch: 2, length: 5);
        Assert.Equal([1L, 2, 5, 8], rows);        // t predicts t + 1: row 0 positions 1, 2; row 1 positions 0, 3
        Assert.Equal([5L, 6, 7, 8], targets);
    }

    [Fact]
    public void ComputeScored_GivesTheFullLogitsLossAndLoraGradients()
    {
        using var scope = NewDisposeScope();
        (double Loss, Dictionary<string, Tensor> Grads) Run(bool scored)
        {
            var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
            PeftAdapter.Load(Fixture.Path("adapter"), model);
            foreach (var (name, p) in model.named_parameters()) p.requires_grad = name.Contains(".lora_", StringComparison.Ordinal);
            var ids = Oracle.Load("train_input_ids");
            var labels = Oracle.Load("train_labels");
            Tensor loss;
            if (scored)
            {
                var (rows, targets) = CausalLmLoss.Scored(labels.flatten().data<long>().ToArray(), (int)labels.shape[0], (int)labels.shape[1]);
                loss = CausalLmLoss.ComputeScored(model.HiddenStates(ids, Oracle.Load("pixel_values")), model.lm_head, tensor(rows), tensor(targets));
            }
            else loss = CausalLmLoss.Compute(model.Forward(ids, Oracle.Load("pixel_values")), labels);
            loss.backward();
            return (loss.item<float>(), model.named_parameters().Where(p => p.parameter.requires_grad).ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
        }
        var full = Run(scored: false);
        var scoredOnly = Run(scored: true);
        Assert.True(Math.Abs(full.Loss - scoredOnly.Loss) <= 1e-6, $"scored loss {scoredOnly.Loss} vs full {full.Loss}");
        foreach (var (name, grad) in full.Grads)
            Assert.True(Oracle.RelativeError(scoredOnly.Grads[name], grad) <= 1e-5, $"{name}: relative error {Oracle.RelativeError(scoredOnly.Grads[name], grad):E2}");
    }
}
