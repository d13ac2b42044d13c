using MultiLora.Core.Tensors;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>
/// Next-token cross-entropy as transformers computes it: logits at position t predict labels at t+1,
/// positions labelled -100 are not scored, the mean is over scored tokens of the whole batch.
/// </summary>
public static class CausalLmLoss
{
    public const long IgnoreIndex = -100;

    /// <param name="logits">[B, T, vocab]</param>
    /// <param name="labels">[B, T] int64, -100 where not scored</param>
    public static Tensor Compute(Tensor logits, Tensor labels) => Reduce(logits, labels, nn.Reduction.Mean);

    /// <summary>
    /// The sum of the scored tokens' losses: training divides it by the label tokens of the whole step (all micro-batches,
    /// all ranks), so the update does not depend on how the step's samples were split.
    /// </summary>
    public static Tensor Sum(Tensor logits, Tensor labels) => Reduce(logits, labels, nn.Reduction.Sum);

    static Tensor Reduce(Tensor logits, Tensor labels, nn.Reduction reduction)
    {
        using var scope = NewDisposeScope();
        long t = logits.shape[1];
        var shiftedLogits = logits.narrow(1, 0, t - 1).reshape(-1, logits.shape[2]).to(ScalarType.Float32);   // [B*(T-1), vocab]
        var shiftedLabels = labels.narrow(1, 1, t - 1).reshape(-1);                                            // [B*(T-1)]
        var loss = nn.functional.cross_entropy(shiftedLogits, shiftedLabels, ignore_index: IgnoreIndex, reduction: reduction);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Tokens of one sample the loss scores (its labels after the shift, as <see cref="ScoredTokens(Tensor)"/> counts a batch).</summary>
    public static long ScoredTokens(MultiLora.Data.Model.EncodedSample sample)
    {
        long scored = 0;
        for (int i = 1; i < sample.Labels.Length; i++) if (sample.Labels[i] != IgnoreIndex) scored++;
        return scored;
    }

    /// <summary>Scored tokens in a batch (after the shift), for tokens/s and loss weighting.</summary>
    public static long ScoredTokens(Tensor labels)
    {
        using var scope = NewDisposeScope();
        return labels.narrow(1, 1, labels.shape[1] - 1).ne(Scalars.Of((long)IgnoreIndex)).sum().item<long>();
    }
}
