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

    /// <summary>
    /// The same loss from the decoder's hidden states [B, T, hidden], running the LM head only on the positions
    /// whose next token is scored. <paramref name="rows"/> (int64 [N], flat b * T + t) and <paramref name="targets"/>
    /// (int64 [N], labels[b, t + 1]) come from <see cref="Scored"/> on the host, so selecting them needs no
    /// device-to-host read. Why: in LLaVA the image and the prompt are unscored (63 of a 704-token sample in the
    /// issue 16 rows), and the [B, T, vocab] logits with their float32 copy, log-softmax and gradients were the largest
    /// tensors of a step (5 GiB at batch 16 x 704 x 32064); mean over the same tokens of the same per-token losses.
    /// </summary>
    public static Tensor ComputeScored(Tensor hidden, TorchSharp.torch.nn.Module<Tensor, Tensor> lmHead, Tensor rows, Tensor targets, nn.Reduction reduction = nn.Reduction.Mean)
    {
        using var scope = NewDisposeScope();
        var selected = hidden.reshape(-1, hidden.shape[2]).index_select(0, rows);                          // [N, hidden]
        var logits = lmHead.call(selected).to(ScalarType.Float32);                                        // [N, vocab]
        return nn.functional.cross_entropy(logits, targets, reduction: reduction).MoveToOuterDisposeScope();
    }

    /// <summary>Host side of <see cref="ComputeScored"/>: flat rows b * T + t whose label at t + 1 is scored, and those labels.</summary>
    /// <param name="labels">row-major [B, T]</param>
    public static (long[] Rows, long[] Targets) Scored(IReadOnlyList<long> labels, int batch, int length)
    {
        var rows = new List<long>();
        var targets = new List<long>();
        for (int b = 0; b < batch; b++)
            for (int t = 0; t + 1 < length; t++)
            {
                long next = labels[b * length + t + 1];
                if (next == IgnoreIndex) continue;
                rows.Add((long)b * length + t);
                targets.Add(next);
            }
        return (rows.ToArray(), targets.ToArray());
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
