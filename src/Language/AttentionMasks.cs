using MultiLora.Core.Tensors;
using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>Attention masks and positions for padded batches.</summary>
public static class AttentionMasks
{
    /// <summary>
    /// Causal mask that also hides padding keys: bool [B, 1, T, S] with S = past + T, true = attend.
    /// A query always sees its own key, so padded rows never become all-masked (which would make
    /// SDPA produce NaN that then leaks through 0 * NaN into real rows).
    /// </summary>
    /// <param name="keyPadding">[B, S], 1 for real tokens, 0 for padding</param>
    public static Tensor CausalWithPadding(Tensor keyPadding, long queryLength)
    {
        using var scope = NewDisposeScope();
        long s = keyPadding.size(1);
        long past = s - queryLength;
        var device = keyPadding.device;
        var q = Ranges.Arange(past, s, device: device).unsqueeze(1);   // [T, 1] absolute query positions
        var k = Ranges.Arange(0, s, device: device).unsqueeze(0);      // [1, S]
        var causal = k.le(q);                                           // [T, S]
        var self = k.eq(q);                                             // [T, S]
        var real = keyPadding.to(ScalarType.Bool).unsqueeze(1).unsqueeze(1);   // [B, 1, 1, S]
        var mask = (causal.unsqueeze(0).unsqueeze(0) & real) | self.unsqueeze(0).unsqueeze(0);
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>Positions as transformers' generate computes them for left padding: cumsum(mask) - 1, pads at 1.</summary>
    public static Tensor PositionsFromPadding(Tensor keyPadding)
    {
        using var scope = NewDisposeScope();
        var m = keyPadding.to(ScalarType.Int64);
        var pos = m.cumsum(1).sub(Scalars.One);
        return pos.masked_fill(m.eq(Scalars.Of(0L)), Scalars.One).MoveToOuterDisposeScope();
    }
}
