using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Core.Tensors;

/// <summary>
/// torch.arange over positions that change every call (cache lengths, sequence lengths). Why not arange(start,
/// stop): TorchSharp makes its step a temporary Scalar, and the bounds would be temporaries too (issue 17);
/// positions are too many distinct values for the process-lifetime cache, so the bounds are owned here and
/// stay reachable (the `using`) until the native call has returned.
/// </summary>
public static class Ranges
{
    /// <summary>[start, start + 1, ..., stop - 1] as torch.arange(start, stop) gives it (int64 unless told otherwise).</summary>
    public static Tensor Arange(long start, long stop, ScalarType dtype = ScalarType.Int64, Device? device = null)
    {
        using var from = start.ToScalar();
        using var to = stop.ToScalar();
        return arange(from, to, Scalars.One, dtype, device);
    }
}
