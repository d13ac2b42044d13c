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
        var s = src.Pixels;
        var half = 1 << (kernel.Bits - 1);
        for (var y = 0; y < rows; y++)
        {
            var srcRow = (y + firstRow) * src.Width * 3;
            var dstRow = y * outW * 3;
            for (var x = 0; x < outW; x++)
            {
                int r = half, g = half, b = half;
                var taps = kernel.Count[x];
                var w0 = x * kernel.TapsPerOutput;
                var p = srcRow + kernel.First[x] * 3;
                for (var t = 0; t < taps; t++, p += 3)
                {
                    var w = kernel.Weights[w0 + t];
                    r += s[p] * w; g += s[p + 1] * w; b += s[p + 2] * w;
                }
                dst[dstRow + x * 3] = Clip8(r, kernel.Bits);
                dst[dstRow + x * 3 + 1] = Clip8(g, kernel.Bits);
                dst[dstRow + x * 3 + 2] = Clip8(b, kernel.Bits);
            }
        }
        return new RgbImage(outW, rows, dst);
    }

    static RgbImage ResizeColumns(RgbImage src, ResampleKernel kernel, int rowOffset)
    {
        var outH = kernel.OutSize;
        var stride = src.Width * 3;
        var dst = new byte[stride * outH];
        var s = src.Pixels;
        var half = 1 << (kernel.Bits - 1);
        for (var y = 0; y < outH; y++)
        {
            var taps = kernel.Count[y];
            var w0 = y * kernel.TapsPerOutput;
            var top = (kernel.First[y] - rowOffset) * stride;
            for (var c = 0; c < stride; c++)
            {
                var acc = half;
                var p = top + c;
                for (var t = 0; t < taps; t++, p += stride) acc += s[p] * kernel.Weights[w0 + t];
                dst[y * stride + c] = Clip8(acc, kernel.Bits);
            }
        }
        return new RgbImage(src.Width, outH, dst);
    }

    // Arithmetic shift (floor) then clamp: Pillow's clip8 lookup and torch's saturating pack agree.
    static byte Clip8(int v, int bits) => (byte)Math.Clamp(v >> bits, 0, 255);
}
