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
    public static Tensor Compute(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long t = logits.shape[1];
        var shiftedLogits = logits.narrow(1, 0, t - 1).reshape(-1, logits.shape[2]).to(ScalarType.Float32);   // [B*(T-1), vocab]
        var shiftedLabels = labels.narrow(1, 1, t - 1).reshape(-1);                                            // [B*(T-1)]
        var loss = nn.functional.cross_entropy(shiftedLogits, shiftedLabels, ignore_index: IgnoreIndex, reduction: nn.Reduction.Mean);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Scored tokens in a batch (after the shift), for tokens/s and loss weighting.</summary>
    public static long ScoredTokens(Tensor labels)
    {
        using var scope = NewDisposeScope();
        return labels.narrow(1, 1, labels.shape[1] - 1).ne(Scalars.Of((long)IgnoreIndex)).sum().item<long>();
    }
}
