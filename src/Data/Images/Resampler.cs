namespace MultiLora.Data.Images;

/// <summary>
/// 8-bit RGB resize as PIL's Image.resize (reducing_gap=None) and torch's uint8 antialiased interpolate
/// both do it: a separable convolution, horizontal pass first into an 8-bit intermediate (only the rows the
/// vertical pass reads), then vertical; each output is the fixed-point sum plus half, shifted down and
/// clipped to 0..255. An axis whose size is unchanged is not filtered.
/// </summary>
public static class Resampler
{
    public static RgbImage Resize(RgbImage src, int width, int height, ResampleFilter filter, ResizeBackend backend)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"resize target {width}x{height} must be positive");
        if (width == src.Width && height == src.Height) return src;
        var horizontal = ResampleKernel.For(src.Width, width, filter, backend);
        var vertical = ResampleKernel.For(src.Height, height, filter, backend);

        var image = src;
        var rowOffset = 0; // first source row held by the intermediate image
        if (width != src.Width)
        {
            var firstRow = height != src.Height ? vertical.First[0] : 0;
            var lastRow = height != src.Height ? vertical.First[height - 1] + vertical.Count[height - 1] : src.Height;
            image = ResizeRows(src, horizontal, firstRow, lastRow);
            rowOffset = firstRow;
        }
        return height != src.Height ? ResizeColumns(image, vertical, rowOffset) : image;
    }

    static RgbImage ResizeRows(RgbImage src, ResampleKernel kernel, int firstRow, int lastRow)
    {
        var outW = kernel.OutSize;
        var rows = lastRow - firstRow;
        var dst = new byte[outW * rows * 3];
        var half = 1 << (kernel.Bits - 1);
        ReadOnlySpan<int> weights = kernel.Weights;
        for (var y = 0; y < rows; y++)
        {
            ReadOnlySpan<byte> srcRow = src.Pixels.AsSpan((y + firstRow) * src.Width * 3, src.Width * 3);
            var dstRow = dst.AsSpan(y * outW * 3, outW * 3);
            for (var x = 0; x < outW; x++)
            {
                int r = half, g = half, b = half;
                var taps = weights.Slice(x * kernel.TapsPerOutput, kernel.Count[x]);
                var pixels = srcRow.Slice(kernel.First[x] * 3, taps.Length * 3);
                for (var t = 0; t < taps.Length; t++)
                {
                    var w = taps[t];
                    r += pixels[3 * t] * w; g += pixels[3 * t + 1] * w; b += pixels[3 * t + 2] * w;
                }
                dstRow[3 * x] = Clip8(r, kernel.Bits);
                dstRow[3 * x + 1] = Clip8(g, kernel.Bits);
                dstRow[3 * x + 2] = Clip8(b, kernel.Bits);
            }
        }
        return new RgbImage(outW, rows, dst);
    }

    // Row-wise accumulation (tap outer, columns inner) keeps the reads sequential in memory.
    static RgbImage ResizeColumns(RgbImage src, ResampleKernel kernel, int rowOffset)
    {
        var outH = kernel.OutSize;
        var stride = src.Width * 3;
        var dst = new byte[stride * outH];
        var acc = new int[stride];
        var half = 1 << (kernel.Bits - 1);
        for (var y = 0; y < outH; y++)
        {
            acc.AsSpan().Fill(half);
            var w0 = y * kernel.TapsPerOutput;
            for (var t = 0; t < kernel.Count[y]; t++)
            {
                var w = kernel.Weights[w0 + t];
                ReadOnlySpan<byte> row = src.Pixels.AsSpan((kernel.First[y] - rowOffset + t) * stride, stride);
                var a = acc.AsSpan(0, row.Length);
                for (var c = 0; c < row.Length; c++) a[c] += row[c] * w;
            }
            var outRow = dst.AsSpan(y * stride, stride);
            for (var c = 0; c < outRow.Length; c++) outRow[c] = Clip8(acc[c], kernel.Bits);
        }
        return new RgbImage(src.Width, outH, dst);
    }

    // Arithmetic shift (floor) then clamp: Pillow's clip8 lookup and torch's saturating pack agree.
    static byte Clip8(int v, int bits) => (byte)Math.Clamp(v >> bits, 0, 255);
}
