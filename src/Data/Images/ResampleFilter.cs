namespace MultiLora.Data.Images;

/// <summary>
/// Pillow's resampling filters (src/libImaging/Resample.c), by the integer code HF configs store as
/// "resample" (PIL.Image.Resampling). NEAREST (0) is not a convolution in Pillow and is not offered.
/// </summary>
public enum ResampleFilter
{
    Lanczos = 1,
    Bilinear = 2,
    Bicubic = 3,
    Box = 4,
    Hamming = 5,
}

static class ResampleFilters
{
    /// <summary>Half-width of the kernel at scale 1 (Pillow's "support").</summary>
    public static double Support(ResampleFilter f) => f switch
    {
        ResampleFilter.Box => 0.5,
        ResampleFilter.Bilinear or ResampleFilter.Hamming => 1.0,
        ResampleFilter.Bicubic => 2.0,
        ResampleFilter.Lanczos => 3.0,
        _ => throw new ArgumentOutOfRangeException(nameof(f), f, "unknown resample filter"),
    };

    public static double Weight(ResampleFilter f, double x) => f switch
    {
        ResampleFilter.Box => x > -0.5 && x <= 0.5 ? 1.0 : 0.0,
        ResampleFilter.Bilinear => Math.Abs(x) < 1.0 ? 1.0 - Math.Abs(x) : 0.0,
        ResampleFilter.Hamming => Hamming(Math.Abs(x)),
        ResampleFilter.Bicubic => Bicubic(Math.Abs(x)),
        ResampleFilter.Lanczos => -3.0 <= x && x < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0,
        _ => throw new ArgumentOutOfRangeException(nameof(f), f, "unknown resample filter"),
    };

    // Keys' cubic convolution with a = -0.5, written exactly as Pillow evaluates it.
    static double Bicubic(double x)
    {
        const double a = -0.5;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    static double Hamming(double x)
    {
        if (x == 0.0) return 1.0;
        if (x >= 1.0) return 0.0;
        x *= Math.PI;
        return Math.Sin(x) / x * (0.54 + 0.46 * Math.Cos(x));
    }

    static double Sinc(double x)
    {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }
}
