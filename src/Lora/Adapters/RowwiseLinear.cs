using MultiLora.Core.Tensors;
using static TorchSharp.torch;

namespace MultiLora.Lora.Adapters;

/// <summary>
/// A linear layer over a batch, computed so that every row's result is bit for bit what the row alone gives
/// (<c>linear(x[i:i+1], W, b)</c>). Why: a matrix product over B rows runs another kernel than one over a single row
/// (libtorch/MKL: a GEMM blocked over the rows instead of a GEMV), and the two round differently, so a batched row can
/// differ from the same row alone in the last bits, and a greedy token can flip where two logits are that close. A
/// batched matmul with one row per batch entry runs each entry through the single-row kernel: same results, one call.
/// libtorch multiplies tiny batched matrices (fewer than 400 multiply-adds per entry) with a naive loop of its own,
/// which rounds differently again; those rows are computed one by one.
/// </summary>
public static class RowwiseLinear
{
    /// <summary>libtorch's bmm switches to its naive kernel below this many multiply-adds per batch entry.</summary>
    internal const long NaiveKernelBelow = 400;

    /// <param name="x">[B, T, in]</param>
    /// <param name="weight">[out, in]</param>
    /// <returns>[B, T, out], row i equal to linear(x[i:i+1], weight, bias)</returns>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        long b = x.size(0), t = x.size(1), inF = weight.size(1), outF = weight.size(0);
        Tensor y;
        if (t * inF * outF < NaiveKernelBelow)
            y = cat(Enumerable.Range(0, (int)b).Select(i => nn.functional.linear(x.narrow(0, i, 1), weight, bias)).ToList(), 0);
        else
        {
            y = bmm(x, weight.t().expand(b, inF, outF));   // [B, in, out]: the one weight, stride 0 over the batch
            if (bias is not null) y = y.Plus(bias);   // linear's addmm adds the bias to each finished dot product: the same sum
        }
        return y.MoveToOuterDisposeScope();
    }
}
