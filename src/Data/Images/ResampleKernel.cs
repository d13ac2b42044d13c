using System.Collections.Concurrent;

namespace MultiLora.Data.Images;

/// <summary>
/// Fixed-point filter taps for resizing one axis from InSize to OutSize, computed as Pillow's
/// precompute_coeffs does (the kernel widens with the downscale factor; taps normalised to sum 1 in
/// double), then rounded half away from zero to <see cref="Bits"/> bits: 22 for PIL
/// (normalize_coeffs_8bpc), and for torch the largest precision whose biggest tap still fits an int16.
/// Cached per (in, out, filter, backend): training resizes the same shapes over and over.
/// </summary>
sealed class ResampleKernel
{
    const int PilPrecisionBits = 32 - 8 - 2;

    static readonly ConcurrentDictionary<(int, int, ResampleFilter, ResizeBackend), ResampleKernel> Cache = new();

    public int OutSize { get; }
    public int TapsPerOutput { get; }
    /// <summary>First input index of output i.</summary>
    public int[] First { get; }
    /// <summary>Number of taps used by output i (at most TapsPerOutput).</summary>
    public int[] Count { get; }
    /// <summary>Weights, TapsPerOutput per output, in 1/2^Bits.</summary>
    public int[] Weights { get; }
    public int Bits { get; }

    public static ResampleKernel For(int inSize, int outSize, ResampleFilter filter, ResizeBackend backend) =>
        Cache.GetOrAdd((inSize, outSize, filter, backend), k => new ResampleKernel(k.Item1, k.Item2, k.Item3, k.Item4));

    ResampleKernel(int inSize, int outSize, ResampleFilter filter, ResizeBackend backend)
    {
        var scale = (double)(float)inSize / outSize; // Pillow: (double)(in1 - in0) / outSize, box edges are floats
        var filterScale = Math.Max(scale, 1.0);
        var support = ResampleFilters.Support(filter) * filterScale;
        var taps = (int)Math.Ceiling(support) * 2 + 1;
        OutSize = outSize;
        TapsPerOutput = taps;
        First = new int[outSize];
        Count = new int[outSize];
        var k = new double[outSize * taps];
        for (var xx = 0; xx < outSize; xx++)
        {
            var center = (xx + 0.5) * scale;
            var ss = 1.0 / filterScale;
            var xmin = Math.Max(0, (int)(center - support + 0.5));
            var xmax = Math.Min(inSize, (int)(center + support + 0.5)) - xmin;
            var row = k.AsSpan(xx * taps, taps);
            var sum = 0.0;
            for (var x = 0; x < xmax; x++)
            {
                row[x] = ResampleFilters.Weight(filter, (x + xmin - center + 0.5) * ss);
                sum += row[x];
            }
            if (sum != 0.0)
                for (var x = 0; x < xmax; x++) row[x] /= sum;
            First[xx] = xmin;
            Count[xx] = xmax;
        }
        Bits = backend == ResizeBackend.Pil ? PilPrecisionBits : Int16Precision(k.Max());
        Weights = new int[k.Length];
        for (var i = 0; i < k.Length; i++)
            Weights[i] = k[i] < 0 ? (int)(-0.5 + k[i] * (1 << Bits)) : (int)(0.5 + k[i] * (1 << Bits));
    }

    /// <summary>torch's _compute_index_ranges_int16_weights: grow precision until the largest tap would overflow int16.</summary>
    static int Int16Precision(double maxWeight)
    {
        var bits = 0;
        while (bits < 22 && (int)(0.5 + maxWeight * (1 << (bits + 1))) < (1 << 15)) bits++;
        return bits;
    }
}
